package pop

import (
	"context"
	"crypto/hmac"
	"crypto/md5"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"strconv"
	"strings"
)

// AuthMethod selects how Auth logs in.
type AuthMethod int

const (
	// AuthAuto picks the strongest mechanism the server offers that works with the credentials:
	// SCRAM-SHA-256, SCRAM-SHA-1, CRAM-MD5, PLAIN, LOGIN, then USER/PASS; with only a token,
	// XOAUTH2 or OAUTHBEARER. APOP is never chosen automatically.
	AuthAuto        AuthMethod = iota
	AuthUser                   // USER and PASS (cleartext)
	AuthAPOP                   // APOP (needs a timestamp in the greeting)
	AuthPlain                  // SASL PLAIN (cleartext)
	AuthLogin                  // SASL LOGIN (cleartext)
	AuthCRAMMD5                // SASL CRAM-MD5
	AuthSCRAMSHA1              // SASL SCRAM-SHA-1
	AuthSCRAMSHA256            // SASL SCRAM-SHA-256
	AuthXOAUTH2                // SASL XOAUTH2 (a bearer token)
	AuthOAUTHBEARER            // SASL OAUTHBEARER, RFC 7628 (a bearer token)
)

var authNames = [...]string{"auto", "user", "apop", "plain", "login", "cram-md5", "scram-sha-1", "scram-sha-256", "xoauth2", "oauthbearer"}

// String returns the method's name as ParseAuthMethod accepts it.
func (m AuthMethod) String() string {
	if m >= 0 && int(m) < len(authNames) {
		return authNames[m]
	}
	return "AuthMethod(" + strconv.Itoa(int(m)) + ")"
}

// ParseAuthMethod parses a method name (case-insensitive); "password" and "pass" mean AuthUser,
// "scram" means SCRAM-SHA-256.
func ParseAuthMethod(s string) (AuthMethod, error) {
	t := strings.ToLower(strings.TrimSpace(s))
	switch t {
	case "", "auto":
		return AuthAuto, nil
	case "password", "pass", "user":
		return AuthUser, nil
	case "scram":
		return AuthSCRAMSHA256, nil
	}
	for i, n := range authNames {
		if n == t {
			return AuthMethod(i), nil
		}
	}
	return 0, fmt.Errorf("pop: unknown authentication method %q", s)
}

// cleartext reports whether the method reveals the secret to anyone reading the connection.
func (m AuthMethod) cleartext() bool {
	switch m {
	case AuthUser, AuthPlain, AuthLogin, AuthXOAUTH2, AuthOAUTHBEARER:
		return true
	}
	return false
}

// Credentials are what Auth logs in with. Token is an OAuth2 access token for XOAUTH2 and
// OAUTHBEARER; Password is used by every other method.
type Credentials struct {
	Method   AuthMethod
	Username string
	Password string
	Token    string
}

// Auth logs in and then asks for the capabilities again. A rejected login is an *Error whose
// IsAuthFailure tells a wrong password from a locked mailbox (IN-USE) or a LOGIN-DELAY.
// It returns ErrInsecureAuth, before sending anything, when a cleartext secret would cross an
// unencrypted connection without Options.AllowInsecureAuth.
func (c *Client) Auth(ctx context.Context, cr Credentials) error {
	if c.authed {
		return errors.New("pop: already authenticated")
	}
	m := cr.Method
	if m == AuthAuto {
		var err error
		if m, err = c.pickMethod(cr); err != nil {
			return err
		}
	} else if m.cleartext() && !c.secure() && !c.opts.AllowInsecureAuth {
		return ErrInsecureAuth
	}
	if c.caps.UTF8 && (!isASCII(cr.Username) || !isASCII(cr.Password)) {
		if _, err := c.simple(ctx, "UTF8"); err != nil {
			return err
		}
	}
	var err error
	switch m {
	case AuthUser:
		err = c.userPass(ctx, cr)
	case AuthAPOP:
		err = c.apop(ctx, cr)
	case AuthPlain:
		err = c.sasl(ctx, "PLAIN", []byte("\x00"+cr.Username+"\x00"+cr.Password), nil)
	case AuthLogin:
		step := 0
		err = c.sasl(ctx, "LOGIN", nil, func([]byte) ([]byte, error) {
			step++
			switch step {
			case 1:
				return []byte(cr.Username), nil
			case 2:
				return []byte(cr.Password), nil
			}
			return nil, errors.New("pop: LOGIN: unexpected extra challenge")
		})
	case AuthCRAMMD5:
		err = c.sasl(ctx, "CRAM-MD5", nil, func(ch []byte) ([]byte, error) {
			mac := hmac.New(md5.New, []byte(cr.Password))
			mac.Write(ch)
			return []byte(cr.Username + " " + hex.EncodeToString(mac.Sum(nil))), nil
		})
	case AuthSCRAMSHA1:
		err = c.scram(ctx, "SCRAM-SHA-1", sha1.New, cr)
	case AuthSCRAMSHA256:
		err = c.scram(ctx, "SCRAM-SHA-256", sha256.New, cr)
	case AuthXOAUTH2:
		err = c.sasl(ctx, "XOAUTH2", []byte("user="+cr.Username+"\x01auth=Bearer "+cr.Token+"\x01\x01"),
			func([]byte) ([]byte, error) { return []byte{}, nil }) // an error challenge: answer empty, then -ERR
	case AuthOAUTHBEARER:
		err = c.sasl(ctx, "OAUTHBEARER", []byte("n,a="+saslName(cr.Username)+",\x01auth=Bearer "+cr.Token+"\x01\x01"),
			func([]byte) ([]byte, error) { return []byte{1}, nil }) // RFC 7628 3.2.3: a failure challenge is answered with %x01
	default:
		return fmt.Errorf("pop: unknown authentication method %v", m)
	}
	if err != nil {
		return err
	}
	c.authed = true
	if err := c.Capa(ctx); err != nil && !isErrReply(err) {
		return err
	}
	return nil
}

// secure reports whether the connection is encrypted.
func (c *Client) secure() bool { return c.tlsState != nil }

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// pickMethod chooses a method for AuthAuto from the capabilities.
func (c *Client) pickMethod(cr Credentials) (AuthMethod, error) {
	insecureOK := c.secure() || c.opts.AllowInsecureAuth
	if cr.Password == "" && cr.Token != "" {
		for _, m := range []AuthMethod{AuthXOAUTH2, AuthOAUTHBEARER} {
			if c.caps.HasSASL(strings.ToUpper(m.String())) {
				if !insecureOK {
					return 0, ErrInsecureAuth
				}
				return m, nil
			}
		}
		return 0, fmt.Errorf("%w: the server offers neither XOAUTH2 nor OAUTHBEARER for a token", ErrNoMechanism)
	}
	refused := false
	for _, m := range []AuthMethod{AuthSCRAMSHA256, AuthSCRAMSHA1, AuthCRAMMD5, AuthPlain, AuthLogin} {
		if !c.caps.HasSASL(strings.ToUpper(m.String())) {
			continue
		}
		if m.cleartext() && !insecureOK {
			refused = true
			continue
		}
		return m, nil
	}
	// USER/PASS is mandatory-to-try: a server may not list USER, or not answer CAPA at all.
	if !insecureOK {
		refused = true
	} else {
		return AuthUser, nil
	}
	if refused {
		return 0, ErrInsecureAuth
	}
	return 0, ErrNoMechanism
}

func (c *Client) userPass(ctx context.Context, cr Credentials) error {
	if _, err := c.simple(ctx, "USER "+cr.Username); err != nil {
		return err
	}
	_, err := c.cmd(ctx, "PASS "+cr.Password, "PASS <redacted>")
	if err == nil {
		c.end()
	}
	return err
}

// apopStamp returns the <...> timestamp of a greeting, or "".
func apopStamp(greeting string) string {
	i := strings.IndexByte(greeting, '<')
	if i < 0 {
		return ""
	}
	j := strings.IndexByte(greeting[i:], '>')
	if j < 0 {
		return ""
	}
	s := greeting[i : i+j+1]
	if !strings.Contains(s, "@") {
		return ""
	}
	return s
}

func (c *Client) apop(ctx context.Context, cr Credentials) error {
	if c.stamp == "" {
		return errors.New("pop: APOP: the server's greeting has no timestamp, so it does not support APOP")
	}
	sum := md5.Sum([]byte(c.stamp + cr.Password))
	_, err := c.cmd(ctx, "APOP "+cr.Username+" "+hex.EncodeToString(sum[:]), "APOP "+cr.Username+" <redacted>")
	if err == nil {
		c.end()
	}
	return err
}

// sasl runs one AUTH exchange (RFC 5034). initial, when not nil, is sent with the command;
// next answers each server challenge. The trace never shows what the client sends.
func (c *Client) sasl(ctx context.Context, mech string, initial []byte, next func([]byte) ([]byte, error)) error {
	if err := c.begin(ctx); err != nil {
		return err
	}
	defer c.end()
	line := "AUTH " + mech
	if initial != nil {
		if len(initial) == 0 {
			line += " ="
		} else {
			line += " " + base64.StdEncoding.EncodeToString(initial)
		}
	}
	if err := c.send(line, "AUTH "+mech+" <redacted>"); err != nil {
		return err
	}
	for {
		l, err := c.readLine("AUTH reply")
		if err != nil {
			return err
		}
		if l == "+" || strings.HasPrefix(l, "+ ") {
			c.trace("S: " + l)
			ch, derr := base64.StdEncoding.DecodeString(strings.TrimSpace(strings.TrimPrefix(l, "+")))
			var resp []byte
			if derr != nil {
				err = fmt.Errorf("%w: AUTH %s challenge is not base64", ErrProtocol, mech)
			} else if next == nil {
				err = fmt.Errorf("%w: AUTH %s: unexpected challenge", ErrProtocol, mech)
			} else {
				resp, err = next(ch)
			}
			if err != nil {
				// Cancel the exchange (RFC 5034 4) and read the server's -ERR.
				if serr := c.send("*", "*"); serr != nil {
					return serr
				}
				if _, serr := c.readStatus("AUTH"); serr != nil && !isErrReply(serr) {
					return serr
				}
				return err
			}
			if err := c.send(base64.StdEncoding.EncodeToString(resp), "<redacted>"); err != nil {
				return err
			}
			continue
		}
		c.trace("S: " + l)
		switch {
		case l == "+OK" || strings.HasPrefix(l, "+OK "):
			return nil
		case l == "-ERR" || strings.HasPrefix(l, "-ERR "):
			return parseErr("AUTH", l[4:])
		}
		err = fmt.Errorf("%w: AUTH reply is neither a challenge, +OK nor -ERR: %q", ErrProtocol, clip(l))
		c.fail(err)
		return err
	}
}

// saslName escapes a user name for SCRAM and GS2 (RFC 5802 5.1).
func saslName(s string) string {
	return strings.NewReplacer("=", "=3D", ",", "=2C").Replace(s)
}

// maxSCRAMIterations bounds the work a hostile server can make the client do.
const maxSCRAMIterations = 1 << 20

// scram runs SCRAM (RFC 5802, RFC 7677) without channel binding, and verifies the server's signature.
func (c *Client) scram(ctx context.Context, mech string, h func() hash.Hash, cr Credentials) error {
	nb := make([]byte, 18)
	if _, err := rand.Read(nb); err != nil {
		return fmt.Errorf("pop: %s: %w", mech, err)
	}
	nonce := base64.RawStdEncoding.EncodeToString(nb)
	first := "n=" + saslName(cr.Username) + ",r=" + nonce
	var serverSig []byte
	verified := false
	step := 0
	err := c.sasl(ctx, mech, []byte("n,,"+first), func(ch []byte) ([]byte, error) {
		step++
		switch step {
		case 1:
			attrs := scramAttrs(string(ch))
			r, s, i := attrs["r"], attrs["s"], attrs["i"]
			if !strings.HasPrefix(r, nonce) || len(r) == len(nonce) {
				return nil, fmt.Errorf("%w: %s: server nonce does not extend ours", ErrProtocol, mech)
			}
			salt, err := base64.StdEncoding.DecodeString(s)
			if err != nil || len(salt) == 0 {
				return nil, fmt.Errorf("%w: %s: bad salt", ErrProtocol, mech)
			}
			iter, err := strconv.Atoi(i)
			if err != nil || iter < 1 || iter > maxSCRAMIterations {
				return nil, fmt.Errorf("%w: %s: iteration count %q out of range", ErrProtocol, mech, i)
			}
			salted, err := pbkdf2.Key(h, cr.Password, salt, iter, h().Size())
			if err != nil {
				return nil, fmt.Errorf("pop: %s: %w", mech, err)
			}
			withoutProof := "c=biws,r=" + r
			authMsg := first + "," + string(ch) + "," + withoutProof
			clientKey := hmacSum(h, salted, "Client Key")
			sh := h()
			sh.Write(clientKey)
			clientSig := hmacSum(h, sh.Sum(nil), authMsg)
			proof := make([]byte, len(clientKey))
			for k := range proof {
				proof[k] = clientKey[k] ^ clientSig[k]
			}
			serverSig = hmacSum(h, hmacSum(h, salted, "Server Key"), authMsg)
			return []byte(withoutProof + ",p=" + base64.StdEncoding.EncodeToString(proof)), nil
		case 2:
			attrs := scramAttrs(string(ch))
			if e, ok := attrs["e"]; ok {
				return nil, fmt.Errorf("pop: %s: server says %q", mech, e)
			}
			v, err := base64.StdEncoding.DecodeString(attrs["v"])
			if err != nil || !hmac.Equal(v, serverSig) {
				return nil, ErrServerAuth
			}
			verified = true
			return []byte{}, nil
		}
		return nil, fmt.Errorf("%w: %s: unexpected extra challenge", ErrProtocol, mech)
	})
	if err != nil {
		return err
	}
	if !verified {
		// +OK without the server's final message: the server never proved it knows the password.
		c.fail(ErrServerAuth)
		return ErrServerAuth
	}
	return nil
}

func hmacSum(h func() hash.Hash, key []byte, msg string) []byte {
	m := hmac.New(h, key)
	m.Write([]byte(msg))
	return m.Sum(nil)
}

// scramAttrs splits "a=1,b=2" into a map (values may contain '=').
func scramAttrs(s string) map[string]string {
	out := map[string]string{}
	for _, kv := range strings.Split(s, ",") {
		if len(kv) >= 2 && kv[1] == '=' {
			out[kv[:1]] = kv[2:]
		}
	}
	return out
}
