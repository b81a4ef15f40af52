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
	// AuthAuto tries, in this order, what the server offers and the connection allows:
	// SCRAM-SHA-256, SCRAM-SHA-1, CRAM-MD5, PLAIN, LOGIN, USER/PASS (when CAPA lists USER or
	// failed), APOP (when the greeting has a timestamp), and USER/PASS as a last resort when CAPA
	// did not list it. It moves to the next only when the server refuses a method (see
	// Error.IsAuthFailure), never after a wrong password. On an unencrypted connection without
	// Options.AllowInsecureAuth only SCRAM is tried. With only a token: XOAUTH2 or OAUTHBEARER.
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

// needsEncryption reports whether the method reveals the secret to anyone reading the
// connection: in cleartext (USER/PASS, PLAIN, LOGIN, the tokens) or as a digest a capture lets
// anyone crack offline (CRAM-MD5, APOP). Only SCRAM is fit for an unencrypted connection.
func (m AuthMethod) needsEncryption() bool {
	return m != AuthSCRAMSHA1 && m != AuthSCRAMSHA256
}

// mechanism is the method's SASL name, "" for USER and APOP.
func (m AuthMethod) mechanism() string {
	if m == AuthAuto || m == AuthUser || m == AuthAPOP {
		return ""
	}
	return strings.ToUpper(m.String())
}

// Credentials are what Auth logs in with. Token is an OAuth2 access token for XOAUTH2 and
// OAUTHBEARER; Password is used by every other method.
type Credentials struct {
	Method   AuthMethod
	Username string
	Password string
	Token    string
}

// Auth logs in and then asks for the capabilities again. When the server offers UTF8 (RFC 6856)
// it is sent first, whatever the credentials (a -ERR to it is ignored). A rejected login is an
// *Error whose IsAuthFailure tells a wrong password from a locked mailbox (IN-USE) or a
// LOGIN-DELAY; a method the server refuses or does not offer is a *MethodRefusedError. It returns
// ErrInsecureAuth, before sending anything, when the method (or, with AuthAuto, every method the
// server offers) would expose the secret on an unencrypted connection without
// Options.AllowInsecureAuth.
func (c *Client) Auth(ctx context.Context, cr Credentials) error {
	if c.authed {
		return errors.New("pop: already authenticated")
	}
	methods, err := c.authMethods(cr)
	if err != nil {
		return err
	}
	if c.caps.UTF8 {
		// Courier, for one, rewrites every message with UTF-8 headers unless the client sent UTF8.
		if _, err := c.simple(ctx, "UTF8"); err != nil && !isErrReply(err) {
			return err
		}
	}
	for _, m := range methods {
		err = c.login(ctx, m, cr)
		var e *Error
		if err == nil || !errors.As(err, &e) || !e.refusesMethod() || c.brokenErr() != nil {
			break
		}
		err = &MethodRefusedError{Method: m, Offered: c.offered(), Err: err}
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

// login runs one login method.
func (c *Client) login(ctx context.Context, m AuthMethod, cr Credentials) error {
	switch m {
	case AuthUser:
		return c.userPass(ctx, cr)
	case AuthAPOP:
		return c.apop(ctx, cr)
	case AuthPlain:
		return c.sasl(ctx, "PLAIN", []byte("\x00"+cr.Username+"\x00"+cr.Password), nil)
	case AuthLogin:
		step := 0
		return c.sasl(ctx, "LOGIN", nil, func([]byte) ([]byte, error) {
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
		return c.sasl(ctx, "CRAM-MD5", nil, func(ch []byte) ([]byte, error) {
			mac := hmac.New(md5.New, []byte(cr.Password))
			mac.Write(ch)
			return []byte(cr.Username + " " + hex.EncodeToString(mac.Sum(nil))), nil
		})
	case AuthSCRAMSHA1:
		return c.scram(ctx, "SCRAM-SHA-1", sha1.New, cr)
	case AuthSCRAMSHA256:
		return c.scram(ctx, "SCRAM-SHA-256", sha256.New, cr)
	case AuthXOAUTH2:
		return c.sasl(ctx, "XOAUTH2", []byte("user="+cr.Username+"\x01auth=Bearer "+cr.Token+"\x01\x01"),
			func([]byte) ([]byte, error) { return []byte{}, nil }) // an error challenge: answer empty, then -ERR
	case AuthOAUTHBEARER:
		return c.sasl(ctx, "OAUTHBEARER", []byte("n,a="+saslName(cr.Username)+",\x01auth=Bearer "+cr.Token+"\x01\x01"),
			func([]byte) ([]byte, error) { return []byte{1}, nil }) // RFC 7628 3.2.3: a failure challenge is answered with %x01
	}
	return fmt.Errorf("pop: unknown authentication method %v", m)
}

// Offered lists the sign-in methods the server offers, as a user would choose them: its SASL
// mechanisms (upper case, cleaned), "USER" when CAPA lists it, and "APOP" when the greeting has a
// timestamp (MethodRefusedError.Offered is the same list). It does no I/O.
func (c *Client) Offered() []string { return c.offered() }

// CheckAuth reports, without I/O and without sending anything, whether Auth could log in with
// cr's method on this connection, as far as the greeting and CAPA tell: nil when the server offers
// the method (with AuthAuto: one fit for the connection and the credentials; USER counts as
// offered when CAPA failed, as Auth then tries it); otherwise the error Auth would return at once
// (ErrInsecureAuth, ErrNoMechanism, *MethodRefusedError), or a *MethodRefusedError for a SASL
// mechanism, or USER, that CAPA does not list.
func (c *Client) CheckAuth(cr Credentials) error {
	if _, err := c.authMethods(cr); err != nil {
		return err
	}
	if cr.Method == AuthAuto || !c.caps.Known {
		return nil
	}
	if mech := cr.Method.mechanism(); mech != "" && !c.caps.HasSASL(mech) {
		return &MethodRefusedError{Method: cr.Method, Offered: c.offered(), Err: fmt.Errorf("pop: CAPA does not list SASL %s", mech)}
	}
	if cr.Method == AuthUser && !c.caps.User {
		return &MethodRefusedError{Method: cr.Method, Offered: c.offered(), Err: errors.New("pop: CAPA does not list USER")}
	}
	return nil
}

// offered lists what the server offers for MethodRefusedError.
func (c *Client) offered() []string {
	out := append([]string(nil), c.caps.SASL...)
	if c.caps.User {
		out = append(out, "USER")
	}
	if c.stamp != "" {
		out = append(out, "APOP")
	}
	return out
}

// secure reports whether the connection is encrypted.
func (c *Client) secure() bool { return c.tlsState != nil }

// authMethods returns the methods Auth tries, in order: the one asked for, or AuthAuto's
// candidates (see AuthAuto).
func (c *Client) authMethods(cr Credentials) ([]AuthMethod, error) {
	allowed := c.secure() || c.opts.AllowInsecureAuth
	if cr.Method != AuthAuto {
		if cr.Method.needsEncryption() && !allowed {
			return nil, ErrInsecureAuth
		}
		if cr.Method == AuthAPOP && c.stamp == "" {
			return nil, &MethodRefusedError{Method: AuthAPOP, Offered: c.offered(),
				Err: errors.New("pop: APOP: the server's greeting has no timestamp, so it does not support APOP")}
		}
		return []AuthMethod{cr.Method}, nil
	}
	var out []AuthMethod
	exposed := false // a method was left out because the connection is not encrypted
	add := func(m AuthMethod, offered bool) {
		switch {
		case !offered:
		case m.needsEncryption() && !allowed:
			exposed = true
		default:
			out = append(out, m)
		}
	}
	if cr.Password == "" && cr.Token != "" {
		add(AuthXOAUTH2, c.caps.HasSASL("XOAUTH2"))
		add(AuthOAUTHBEARER, c.caps.HasSASL("OAUTHBEARER"))
		if len(out) == 0 && !exposed {
			return nil, fmt.Errorf("%w: the server offers neither XOAUTH2 nor OAUTHBEARER for a token", ErrNoMechanism)
		}
	} else {
		for _, m := range []AuthMethod{AuthSCRAMSHA256, AuthSCRAMSHA1, AuthCRAMMD5, AuthPlain, AuthLogin} {
			add(m, c.caps.HasSASL(m.mechanism()))
		}
		listed := !c.caps.Known || c.caps.User
		add(AuthUser, listed)
		add(AuthAPOP, c.stamp != "")
		add(AuthUser, !listed) // a server may take USER without listing it
	}
	if len(out) == 0 {
		return nil, ErrInsecureAuth
	}
	return out, nil
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

// apopStamp returns the first <...@...> of a greeting (RFC 1939 7: the APOP timestamp), or "".
func apopStamp(greeting string) string {
	for rest := greeting; ; {
		i := strings.IndexByte(rest, '<')
		if i < 0 {
			return ""
		}
		rest = rest[i:]
		j := strings.IndexAny(rest[1:], "<>")
		if j < 0 {
			return ""
		}
		if s := rest[:j+2]; s[j+1] == '>' && strings.Contains(s, "@") {
			return s
		}
		rest = rest[j+1:]
	}
}

func (c *Client) apop(ctx context.Context, cr Credentials) error {
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
			c.traceServer(l)
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
		c.traceServer(l)
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
				return nil, fmt.Errorf("pop: %s: server says %q", mech, CleanText(e))
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
