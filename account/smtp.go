package account

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/textproto"
	"strconv"
	"strings"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/poplar-mail/poplar/pop"
)

// This file is the outgoing side of an account: its SMTP settings and password, and the
// connection to its submission server (RFC 6409) with implicit TLS (RFC 8314) or STARTTLS
// (RFC 3207), AUTH (RFC 4954: PLAIN, LOGIN, OAUTHBEARER RFC 7628, XOAUTH2), through
// github.com/emersion/go-smtp's client.

// SMTPUser returns the user name for the outgoing server: its own, or the account's.
func (a Account) SMTPUser() string {
	if a.SMTP.Username != "" {
		return a.SMTP.Username
	}
	return a.Username
}

// SMTPSecretName returns the SecretStore name of the outgoing server's password: the account's
// own entry (a.Name) when the outgoing user is the incoming one, else "NAME/smtp" (an account name
// never holds a '/', so it names no account).
func (a Account) SMTPSecretName() string {
	if a.SMTP.Username == "" || a.SMTP.Username == a.Username {
		return a.Name
	}
	return a.Name + "/smtp"
}

// SMTPAddr returns the outgoing server's "host:port".
func (a Account) SMTPAddr() string {
	return net.JoinHostPort(a.SMTP.Host, strconv.Itoa(a.SMTP.Port))
}

// CanSend reports whether the account has an outgoing server.
func (a Account) CanSend() bool { return a.SMTP.Host != "" }

// SMTPPassword returns the outgoing server's password (or OAuth2 token) from secrets (nil: the OS
// keyring): ErrNoSecret when none is stored. It never logs or writes it anywhere.
func SMTPPassword(a Account, secrets SecretStore) (string, error) {
	if secrets == nil {
		secrets = Keyring()
	}
	return secrets.Get(a.SMTPSecretName())
}

// SetSMTPPassword stores the outgoing server's password under SMTPSecretName. When that is the
// account's own entry, it is the incoming password too.
func SetSMTPPassword(a Account, secrets SecretStore, password string) error {
	if secrets == nil {
		secrets = Keyring()
	}
	return secrets.Set(a.SMTPSecretName(), password)
}

// DeleteSMTPPassword removes a separate outgoing password ("NAME/smtp"), if any; the account's own
// entry is left alone.
func DeleteSMTPPassword(name string, secrets SecretStore) error {
	if secrets == nil {
		secrets = Keyring()
	}
	return secrets.Delete(name + "/smtp")
}

// NoOutgoingServerError means the account has no outgoing server and cannot send.
type NoOutgoingServerError struct{ Account string }

func (e *NoOutgoingServerError) Error() string {
	return "account: " + e.Account + " has no outgoing server: set one in the account settings"
}

// Errors of the outgoing connection, for errors.Is.
var (
	// ErrSMTPNoSTARTTLS means STARTTLS was expected and the server did not offer it (or answered it
	// with anything but 220): someone may be stripping it. Nothing was sent.
	ErrSMTPNoSTARTTLS = errors.New("account: the outgoing server did not offer STARTTLS; nothing was sent")
	// ErrSMTPInsecureAuth means a password would have gone over an unencrypted connection.
	ErrSMTPInsecureAuth = errors.New("account: refusing to send the password to the outgoing server over an unencrypted connection")
	// ErrSMTPNoMechanism means the server offers no AUTH mechanism Poplar can use.
	ErrSMTPNoMechanism = errors.New("account: the outgoing server offers no sign-in method Poplar can use")
	// ErrSMTPInjection means the server sent data after its STARTTLS answer, before TLS started.
	ErrSMTPInjection = errors.New("account: the outgoing server sent data before TLS started (possible command injection); nothing was sent")
)

// SMTPAuthError means the outgoing server refused the user name and password (or token): 535, or
// another 5.7.8 reply to AUTH.
type SMTPAuthError struct {
	Account, User string
	Err           *smtp.SMTPError
}

func (e *SMTPAuthError) Error() string {
	return fmt.Sprintf("account: the outgoing server of %s refused the user name %q or its password: %s", e.Account, e.User, smtpWords(e.Err))
}

func (e *SMTPAuthError) Unwrap() error { return e.Err }

// IsSMTPAuthFailure reports whether err is the outgoing server refusing the user name and
// password: the caller should ask for the outgoing password (SMTPSecretName) again.
func IsSMTPAuthFailure(err error) bool {
	var ae *SMTPAuthError
	return errors.As(err, &ae)
}

// smtpWords returns a server reply as a user reads it: "550 5.1.1 no such user", cleaned.
func smtpWords(e *smtp.SMTPError) string {
	s := strconv.Itoa(e.Code)
	if ec := e.EnhancedCode; ec != smtp.NoEnhancedCode && ec != smtp.EnhancedCodeNotSet && ec[0] > 0 {
		s += fmt.Sprintf(" %d.%d.%d", ec[0], ec[1], ec[2])
	}
	if m := pop.CleanText(e.Message); m != "" {
		s += " " + m
	}
	return s
}

// smtpTimeout is the default network deadline of an outgoing connection: every read and every
// write must finish within it.
const smtpTimeout = 60 * time.Second

// smtpLocalName is the name Poplar gives in EHLO: it says nothing about the user's machine.
const smtpLocalName = "localhost"

// deadlineConn gives every Read and Write its own deadline, timeout from its start, whatever
// deadlines the code above sets (go-smtp clears them between commands, and sets none while DATA is
// written). Closing it (cancellation) ends any call at once.
type deadlineConn struct {
	net.Conn
	timeout time.Duration
}

func (c *deadlineConn) Read(p []byte) (int, error) {
	c.Conn.SetReadDeadline(time.Now().Add(c.timeout))
	return c.Conn.Read(p)
}

func (c *deadlineConn) Write(p []byte) (int, error) {
	c.Conn.SetWriteDeadline(time.Now().Add(c.timeout))
	return c.Conn.Write(p)
}

func (c *deadlineConn) SetDeadline(time.Time) error      { return nil }
func (c *deadlineConn) SetReadDeadline(time.Time) error  { return nil }
func (c *deadlineConn) SetWriteDeadline(time.Time) error { return nil }

// greetedConn replays a greeting before the connection's own bytes: after STARTTLS, which Poplar
// speaks itself, go-smtp's client starts by reading one.
type greetedConn struct {
	net.Conn
	pending []byte
}

func (c *greetedConn) Read(p []byte) (int, error) {
	if len(c.pending) > 0 {
		n := copy(p, c.pending)
		c.pending = c.pending[n:]
		return n, nil
	}
	return c.Conn.Read(p)
}

// dialSMTP connects to the account's outgoing server and returns a go-smtp client that has said
// EHLO over the connection's final security: implicit TLS, STARTTLS (refused with
// ErrSMTPNoSTARTTLS when not offered), or none. Cancelling ctx closes the connection; close the
// client (and stop the returned func) when done.
func dialSMTP(ctx context.Context, a Account, timeout time.Duration) (*smtp.Client, func() bool, error) {
	if timeout <= 0 {
		timeout = smtpTimeout
	}
	d := net.Dialer{Timeout: timeout}
	raw, err := d.DialContext(ctx, "tcp", a.SMTPAddr())
	if err != nil {
		return nil, nil, err
	}
	stop := context.AfterFunc(ctx, func() { raw.Close() })
	fail := func(err error) (*smtp.Client, func() bool, error) {
		stop()
		raw.Close()
		if ctx.Err() != nil {
			return nil, nil, ctx.Err()
		}
		return nil, nil, err
	}
	conn := net.Conn(&deadlineConn{Conn: raw, timeout: timeout})
	var cfg *tls.Config
	if a.SMTP.Security != SecurityNone {
		// The outgoing server is trusted by the same rule as the incoming one: the account's CA
		// file, or the SMTP server's own pinned fingerprint.
		if cfg, err = pop.TLSConfig(a.SMTP.Host, a.CAFile, a.SMTP.Fingerprint); err != nil {
			return fail(err)
		}
	}
	switch a.SMTP.Security {
	case SecurityTLS:
		tc := tls.Client(conn, cfg)
		if err := tc.HandshakeContext(ctx); err != nil {
			return fail(pop.HandshakeError(a.SMTP.Host, err))
		}
		conn = tc
	case SecuritySTARTTLS:
		greeting, err := startTLS(conn)
		if err != nil {
			return fail(err)
		}
		tc := tls.Client(conn, cfg)
		if err := tc.HandshakeContext(ctx); err != nil {
			return fail(pop.HandshakeError(a.SMTP.Host, err))
		}
		conn = &greetedConn{Conn: tc, pending: greeting}
	}
	c := smtp.NewClient(conn)
	c.CommandTimeout, c.SubmissionTimeout = timeout, timeout
	if err := c.Hello(smtpLocalName); err != nil {
		c.Close()
		return fail(err)
	}
	return c, stop, nil
}

// startTLS speaks the plaintext start of a STARTTLS session itself: the greeting, EHLO, STARTTLS.
// It returns the greeting (to replay to go-smtp over TLS). A server that does not offer STARTTLS,
// refuses it, or sends anything after its 220 (which would be read as coming over TLS) is refused.
func startTLS(conn net.Conn) (greeting []byte, err error) {
	tp := textproto.NewConn(conn)
	_, msg, err := tp.ReadResponse(220)
	if err != nil {
		return nil, smtpReplyErr(err)
	}
	if err := tp.PrintfLine("EHLO %s", smtpLocalName); err != nil {
		return nil, err
	}
	_, ext, err := tp.ReadResponse(250)
	if err != nil {
		return nil, smtpReplyErr(err)
	}
	offered := false
	for _, l := range strings.Split(ext, "\n")[1:] {
		offered = offered || strings.EqualFold(strings.TrimSpace(l), "STARTTLS")
	}
	if !offered {
		return nil, ErrSMTPNoSTARTTLS
	}
	if err := tp.PrintfLine("STARTTLS"); err != nil {
		return nil, err
	}
	if _, _, err := tp.ReadResponse(220); err != nil {
		var te *textproto.Error
		if errors.As(err, &te) {
			return nil, fmt.Errorf("%w (%d %s)", ErrSMTPNoSTARTTLS, te.Code, pop.CleanText(te.Msg))
		}
		return nil, err
	}
	if tp.R.Buffered() > 0 {
		return nil, ErrSMTPInjection
	}
	first, _, _ := strings.Cut(msg, "\n")
	return []byte("220 " + pop.CleanText(first) + "\r\n"), nil
}

// smtpReplyErr turns a textproto reply error into go-smtp's *smtp.SMTPError, as its client does.
func smtpReplyErr(err error) error {
	var te *textproto.Error
	if !errors.As(err, &te) {
		return err
	}
	return &smtp.SMTPError{Code: te.Code, EnhancedCode: smtp.EnhancedCodeNotSet, Message: te.Msg}
}

// smtpAuth signs in on c when the server offers AUTH: OAUTHBEARER or XOAUTH2 with a token for an
// OAuth2 account, else PLAIN or LOGIN; only over TLS unless AllowInsecureAuth. A server that does
// not offer AUTH is used without (a trusted relay). getSecret is called only when needed.
// The connection is encrypted when the outgoing security is not "none": dialSMTP returns no
// client otherwise.
func smtpAuth(c *smtp.Client, a Account, getSecret func() (string, error)) error {
	ok, mechs := c.Extension("AUTH")
	if !ok {
		return nil
	}
	if a.SMTP.Security == SecurityNone && !a.AllowInsecureAuth {
		return ErrSMTPInsecureAuth
	}
	offered := map[string]bool{}
	for _, m := range strings.Fields(mechs) {
		offered[strings.ToUpper(m)] = true
	}
	secret, err := getSecret()
	if err != nil {
		return err
	}
	user := a.SMTPUser()
	var sc sasl.Client
	switch {
	case a.Auth == "oauth2" && offered["OAUTHBEARER"]:
		sc = sasl.NewOAuthBearerClient(&sasl.OAuthBearerOptions{Username: user, Token: secret, Host: a.SMTP.Host, Port: a.SMTP.Port})
	case a.Auth == "oauth2" && offered["XOAUTH2"]:
		sc = xoauth2Client{user: user, token: secret}
	case a.Auth == "oauth2":
		return ErrSMTPNoMechanism
	case offered["PLAIN"]:
		sc = sasl.NewPlainClient("", user, secret)
	case offered["LOGIN"]:
		sc = sasl.NewLoginClient(user, secret)
	default:
		return ErrSMTPNoMechanism
	}
	if err := c.Auth(sc); err != nil {
		var se *smtp.SMTPError
		if errors.As(err, &se) && (se.Code == 535 || se.EnhancedCode == (smtp.EnhancedCode{5, 7, 8})) {
			return &SMTPAuthError{Account: a.Name, User: user, Err: se}
		}
		// OAUTHBEARER refuses a token with a challenge (RFC 7628 3.2.2) before the 535: go-sasl
		// returns it as an error of its own. It is the server refusing the token all the same.
		var oe *sasl.OAuthBearerError
		if errors.As(err, &oe) {
			return &SMTPAuthError{Account: a.Name, User: user, Err: &smtp.SMTPError{Code: 535, EnhancedCode: smtp.EnhancedCode{5, 7, 8},
				Message: "the token was refused (" + pop.CleanText(oe.Status) + ")"}}
		}
		return err
	}
	return nil
}

// xoauth2Client is the XOAUTH2 mechanism (Google's and Microsoft's): one message with the user
// and the bearer token; a failure answers with a JSON challenge, to which an empty reply is due.
type xoauth2Client struct{ user, token string }

func (x xoauth2Client) Start() (string, []byte, error) {
	return "XOAUTH2", []byte("user=" + x.user + "\x01auth=Bearer " + x.token + "\x01\x01"), nil
}

func (x xoauth2Client) Next([]byte) ([]byte, error) { return []byte{}, nil }

// OutgoingInfo is what TestOutgoing learned of an outgoing server.
type OutgoingInfo struct {
	Security  string   // the security used: tls, starttls or none
	Auth      []string // the AUTH mechanisms offered (after TLS), e.g. PLAIN LOGIN
	SignedIn  bool     // AUTH succeeded (false when the server offers no AUTH)
	MaxSize   int      // the SIZE the server announced, 0 when none
	SMTPUTF8  bool     // addresses may be UTF-8
	EightBit  bool     // 8BITMIME
	Extension []string // the other extensions Poplar knows that the server offers
}

// TestOutgoing connects to a's outgoing server as Send does (TLS or STARTTLS, the certificate
// checked), signs in with secret (the password or OAuth2 token, not yet stored, as the account
// editor has it) when the server offers AUTH, and says QUIT: it sends no mail. Errors are those of
// Send: Explain words them.
func TestOutgoing(ctx context.Context, a Account, secret string) (OutgoingInfo, error) {
	if !a.CanSend() {
		return OutgoingInfo{}, &NoOutgoingServerError{Account: a.Name}
	}
	c, stop, err := dialSMTP(ctx, a, 20*time.Second)
	if err != nil {
		return OutgoingInfo{}, err
	}
	defer stop()
	defer c.Close()
	info := OutgoingInfo{Security: a.SMTP.Security}
	if ok, mechs := c.Extension("AUTH"); ok {
		info.Auth = strings.Fields(strings.ToUpper(mechs))
	}
	info.MaxSize, _ = c.MaxMessageSize()
	info.SMTPUTF8, _ = c.Extension("SMTPUTF8")
	info.EightBit, _ = c.Extension("8BITMIME")
	for _, ext := range []string{"PIPELINING", "CHUNKING", "DSN", "ENHANCEDSTATUSCODES", "REQUIRETLS"} {
		if ok, _ := c.Extension(ext); ok {
			info.Extension = append(info.Extension, ext)
		}
	}
	if err := smtpAuth(c, a, func() (string, error) { return secret, nil }); err != nil {
		return info, err
	}
	info.SignedIn = len(info.Auth) > 0
	c.Quit()
	return info, nil
}
