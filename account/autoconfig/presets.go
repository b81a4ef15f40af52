package autoconfig

import "strings"

// Preset is a provider's settings that Poplar knows without asking anyone: the large providers
// that offer POP3. Usernames may use %EMAILADDRESS%, %EMAILLOCALPART% and %EMAILDOMAIN%, as in
// Thunderbird's configuration files.
type Preset struct {
	Name string // the provider, for a user: "Gmail"
	// Domains are the email domains the provider serves (an exact match of the address's domain).
	Domains []string
	// MXDomains are domains the provider's MX hosts end in: mail of another domain whose MX host
	// ends in one of these (after a dot, or equal) is hosted here.
	MXDomains []string
	Incoming  []Server
	Outgoing  []Server
}

// Server is one server of a Preset.
type Server struct {
	Host     string
	Port     int
	Security string // account.SecurityTLS or account.SecuritySTARTTLS
	Username string // with %EMAILADDRESS% and the like
	// Auth is AuthPassword or AuthOAuth2; OAuthProvider names the sign-in service of an OAuth2
	// server ("google", "microsoft").
	Auth          string
	OAuthProvider string
}

// BuiltinPresets returns the presets Poplar ships, a new copy on each call. The servers are those
// of Thunderbird's ISPDB (github.com/thunderbird/autoconfig) and the providers' own help pages,
// checked 2026-11-30. Google and Microsoft are marked OAuth2: Microsoft refuses passwords for POP3
// and SMTP, and Google accepts them only as app passwords. Yahoo, AOL, Mail.ru and Yandex take
// app passwords.
func BuiltinPresets() []Preset {
	email := "%EMAILADDRESS%"
	pw := func(host string, port int, sec string) Server {
		return Server{Host: host, Port: port, Security: sec, Username: email, Auth: AuthPassword}
	}
	oauth := func(provider, host string, port int, sec string) Server {
		return Server{Host: host, Port: port, Security: sec, Username: email, Auth: AuthOAuth2, OAuthProvider: provider}
	}
	const tls, starttls = "tls", "starttls"
	microsoft := []Server{oauth("microsoft", "outlook.office365.com", 995, tls)}
	microsoftOut := []Server{oauth("microsoft", "smtp.office365.com", 587, starttls)}
	return []Preset{
		{Name: "Gmail", Domains: []string{"gmail.com", "googlemail.com"}, MXDomains: []string{"google.com", "googlemail.com"},
			Incoming: []Server{oauth("google", "pop.gmail.com", 995, tls)},
			Outgoing: []Server{oauth("google", "smtp.gmail.com", 465, tls), oauth("google", "smtp.gmail.com", 587, starttls)}},
		{Name: "Outlook.com",
			Domains: []string{"outlook.com", "hotmail.com", "live.com", "msn.com", "windowslive.com", "hotmail.co.uk",
				"hotmail.de", "hotmail.fr", "hotmail.it", "hotmail.es", "live.co.uk", "live.de", "live.fr", "live.nl",
				"outlook.de", "outlook.fr", "outlook.es", "outlook.it"},
			MXDomains: []string{"olc.protection.outlook.com"}, Incoming: microsoft, Outgoing: microsoftOut},
		{Name: "Microsoft 365", Domains: []string{"office365.com", "onmicrosoft.com"},
			MXDomains: []string{"mail.protection.outlook.com"}, Incoming: microsoft, Outgoing: microsoftOut},
		{Name: "Yahoo", Domains: []string{"yahoo.com", "yahoo.co.uk", "yahoo.de", "yahoo.fr", "yahoo.it", "yahoo.es",
			"yahoo.com.br", "ymail.com", "rocketmail.com"}, MXDomains: []string{"yahoodns.net"},
			Incoming: []Server{pw("pop.mail.yahoo.com", 995, tls)},
			Outgoing: []Server{pw("smtp.mail.yahoo.com", 465, tls), pw("smtp.mail.yahoo.com", 587, starttls)}},
		{Name: "AOL", Domains: []string{"aol.com", "aim.com", "aol.de", "aol.fr", "aol.it", "aol.co.uk", "netscape.net", "compuserve.com", "cs.com"},
			Incoming: []Server{pw("pop.aol.com", 995, tls)}, Outgoing: []Server{pw("smtp.aol.com", 465, tls)}},
		{Name: "GMX", Domains: []string{"gmx.net", "gmx.de", "gmx.at", "gmx.ch", "gmx.eu", "gmx.org", "gmx.info", "gmx.biz"},
			MXDomains: []string{"gmx.net"},
			Incoming:  []Server{pw("pop.gmx.net", 995, tls), pw("pop.gmx.net", 110, starttls)},
			Outgoing:  []Server{pw("mail.gmx.net", 465, tls), pw("mail.gmx.net", 587, starttls)}},
		{Name: "GMX (international)", Domains: []string{"gmx.com", "gmx.us", "gmx.co.uk", "gmx.fr", "gmx.es"}, MXDomains: []string{"gmx.com"},
			Incoming: []Server{pw("pop.gmx.com", 995, tls), pw("pop.gmx.com", 110, starttls)},
			Outgoing: []Server{pw("mail.gmx.com", 465, tls), pw("mail.gmx.com", 587, starttls)}},
		{Name: "WEB.DE", Domains: []string{"web.de"}, MXDomains: []string{"web.de"},
			Incoming: []Server{pw("pop3.web.de", 995, tls), pw("pop3.web.de", 110, starttls)},
			Outgoing: []Server{pw("smtp.web.de", 587, starttls)}},
		{Name: "Mail.ru", Domains: []string{"mail.ru", "inbox.ru", "list.ru", "bk.ru", "internet.ru"}, MXDomains: []string{"mail.ru"},
			Incoming: []Server{pw("pop.mail.ru", 995, tls), pw("pop.mail.ru", 110, starttls)},
			Outgoing: []Server{pw("smtp.mail.ru", 465, tls), pw("smtp.mail.ru", 587, starttls)}},
		{Name: "Yandex", Domains: []string{"yandex.ru", "yandex.com", "ya.ru", "yandex.by", "yandex.kz", "yandex.ua"},
			MXDomains: []string{"yandex.ru", "yandex.net"},
			Incoming:  []Server{pw("pop.yandex.com", 995, tls)},
			Outgoing:  []Server{pw("smtp.yandex.com", 465, tls)}},
		{Name: "Fastmail", Domains: []string{"fastmail.com", "fastmail.fm", "fastmail.net", "fastmail.org", "fastmail.us", "sent.com"},
			MXDomains: []string{"messagingengine.com"},
			Incoming:  []Server{pw("pop.fastmail.com", 995, tls)},
			Outgoing:  []Server{pw("smtp.fastmail.com", 465, tls), pw("smtp.fastmail.com", 587, starttls)}},
		{Name: "Zoho Mail", Domains: []string{"zoho.com", "zohomail.com"}, MXDomains: []string{"zoho.com"},
			Incoming: []Server{pw("pop.zoho.com", 995, tls)},
			Outgoing: []Server{pw("smtp.zoho.com", 465, tls), pw("smtp.zoho.com", 587, starttls)}},
		{Name: "Zoho Mail (Europe)", Domains: []string{"zoho.eu", "zohomail.eu"}, MXDomains: []string{"zoho.eu"},
			Incoming: []Server{pw("pop.zoho.eu", 995, tls)},
			Outgoing: []Server{pw("smtp.zoho.eu", 465, tls), pw("smtp.zoho.eu", 587, starttls)}},
	}
}

// presetForDomain returns the preset serving the email domain d.
func presetForDomain(presets []Preset, d string) (Preset, bool) {
	for _, p := range presets {
		for _, x := range p.Domains {
			if strings.EqualFold(x, d) {
				return p, true
			}
		}
	}
	return Preset{}, false
}

// presetForMX returns the preset whose MX domains the MX host mx is in.
func presetForMX(presets []Preset, mx string) (Preset, bool) {
	mx = strings.ToLower(strings.TrimSuffix(mx, "."))
	for _, p := range presets {
		for _, x := range p.MXDomains {
			x = strings.ToLower(x)
			if mx == x || strings.HasSuffix(mx, "."+x) {
				return p, true
			}
		}
	}
	return Preset{}, false
}

// presetForHost returns the server of a preset with this host and port (so a configuration file
// naming pop.gmail.com is known to need Google's OAuth2).
func presetForHost(presets []Preset, host string, port int) (Server, bool) {
	for _, p := range presets {
		for _, s := range append(append([]Server(nil), p.Incoming...), p.Outgoing...) {
			if strings.EqualFold(s.Host, host) && s.Port == port {
				return s, true
			}
		}
	}
	return Server{}, false
}
