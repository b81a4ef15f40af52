package pop

import (
	"context"
	"strconv"
	"strings"
	"time"
)

// Capabilities is what the server said in reply to CAPA (RFC 2449).
type Capabilities struct {
	Known          bool     // CAPA succeeded; when false the other fields are guesses (all false)
	Raw            []string // every capability line as sent, cleaned (CleanText)
	Top            bool
	UIDL           bool
	User           bool
	Pipelining     bool
	RespCodes      bool
	AuthRespCode   bool
	STLS           bool
	UTF8           bool
	SASL           []string // mechanisms, upper case, cleaned
	Implementation string   // cleaned
	// LoginDelay is the minimum time between logins (LOGIN-DELAY); 0 if not announced.
	// LoginDelayPerUser is true when the server said "USER" (the value may change after login).
	LoginDelay        time.Duration
	LoginDelayPerUser bool
	// Expire is how long the server keeps messages after they are retrieved (EXPIRE), in days:
	// -1 for NEVER, 0 when it may delete them at once, and HasExpire false when not announced.
	Expire        int
	HasExpire     bool
	ExpirePerUser bool
}

// HasSASL reports whether mechanism mech (any case) is offered.
func (c Capabilities) HasSASL(mech string) bool {
	for _, m := range c.SASL {
		if strings.EqualFold(m, mech) {
			return true
		}
	}
	return false
}

// parseCapabilities interprets CAPA lines. Unknown capabilities are kept in Raw only.
func parseCapabilities(lines []string) Capabilities {
	c := Capabilities{Known: true, Raw: make([]string, len(lines))}
	for i, l := range lines {
		c.Raw[i] = CleanText(l)
		f := strings.Fields(l)
		if len(f) == 0 {
			continue
		}
		args := f[1:]
		switch strings.ToUpper(f[0]) {
		case "TOP":
			c.Top = true
		case "UIDL":
			c.UIDL = true
		case "USER":
			c.User = true
		case "PIPELINING":
			c.Pipelining = true
		case "RESP-CODES":
			c.RespCodes = true
		case "AUTH-RESP-CODE":
			c.AuthRespCode = true
		case "STLS":
			c.STLS = true
		case "UTF8":
			c.UTF8 = true
		case "SASL":
			for _, m := range args {
				if m = strings.ToUpper(CleanText(m)); m != "" {
					c.SASL = append(c.SASL, m)
				}
			}
		case "IMPLEMENTATION":
			c.Implementation = strings.TrimSpace(CleanText(strings.TrimPrefix(strings.TrimSpace(l), f[0])))
		case "LOGIN-DELAY":
			if len(args) > 0 {
				if n, err := strconv.Atoi(args[0]); err == nil && n >= 0 {
					c.LoginDelay = time.Duration(n) * time.Second
				}
				c.LoginDelayPerUser = len(args) > 1 && strings.EqualFold(args[1], "USER")
			}
		case "EXPIRE":
			if len(args) > 0 {
				if strings.EqualFold(args[0], "NEVER") {
					c.Expire, c.HasExpire = -1, true
				} else if n, err := strconv.Atoi(args[0]); err == nil && n >= 0 {
					c.Expire, c.HasExpire = n, true
				}
				c.ExpirePerUser = len(args) > 1 && strings.EqualFold(args[1], "USER")
			}
		}
	}
	return c
}

// Capa asks for the capabilities and stores them (see Capabilities). A -ERR reply (a server
// without CAPA) is returned as an *Error and leaves Capabilities().Known false. A reply of more
// than 1000 lines or 1 MiB is ErrReplyTooLarge.
func (c *Client) Capa(ctx context.Context) error {
	lines, err := c.lines(ctx, "CAPA", capaLimit)
	if err != nil {
		if isErrReply(err) {
			c.caps = Capabilities{}
		}
		return err
	}
	c.caps = parseCapabilities(lines)
	return nil
}
