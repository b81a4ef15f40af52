package gui

import (
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/app"
	"fyne.io/fyne/v2/test"

	"github.com/poplar-mail/poplar/account"
	"github.com/poplar-mail/poplar/account/autoconfig"
	"github.com/poplar-mail/poplar/internal/dnstest"
	"github.com/poplar-mail/poplar/pop/popserver"
)

// setupCert is the certificate of the setup wizard's test server, a system root for this test
// binary (trustSetupCert): the wizard's Finder and the new account then trust it the way they
// trust a real provider's, with no test-only setting.
var setupCert *popserver.Cert

// trustSetupCert makes setupCert for localhost and points SSL_CERT_FILE at it; Go reads that
// variable the first time it needs the system's roots, which is after TestMain.
func trustSetupCert() (cleanup func(), err error) {
	if setupCert, err = popserver.GenerateCert("localhost"); err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "poplar-gui-roots")
	if err != nil {
		return nil, err
	}
	file := filepath.Join(dir, "roots.pem")
	if err := os.WriteFile(file, setupCert.CertPEM, 0o600); err != nil {
		return nil, err
	}
	os.Setenv("SSL_CERT_FILE", file)
	return func() { os.RemoveAll(dir) }, nil
}

// setupRig is a provider for the wizard: a POP3S server behind setupCert, found through the SRV
// records of example.test in a private DNS server; the ISP database knows nothing.
type setupRig struct {
	port   int
	finder *autoconfig.Finder
}

func startSetupRig(t *testing.T) *setupRig {
	t.Helper()
	if err := dnstest.Available(); err != nil {
		t.Skip(err)
	}
	r, stop, err := newSetupRig()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	return r
}

// newSetupRig starts the rig; stop ends it.
func newSetupRig() (r *setupRig, stop func(), err error) {
	var stops []func()
	stop = func() {
		for i := len(stops) - 1; i >= 0; i-- {
			stops[i]()
		}
	}
	mb := popserver.NewMemMailbox()
	mb.Add("", []byte("From: Ed <ed@example.test>\r\nSubject: Welcome\r\n\r\nHello Dana\r\n"))
	srv := popserver.New(popserver.Config{TLSConfig: setupCert.ServerConfig(),
		Password: popserver.Users(map[string]string{"dana@example.test": "s3cret"}),
		Mailbox:  func(string) (popserver.Mailbox, error) { return mb, nil }})
	stops = append(stops, func() { srv.Close() })
	addr, err := srv.Listen("127.0.0.1:0", true)
	if err != nil {
		stop()
		return nil, nil, err
	}
	r = &setupRig{port: addr.(*net.TCPAddr).Port}
	ispdb := httptest.NewServer(http.NotFoundHandler())
	stops = append(stops, ispdb.Close)
	dns, err := dnstest.Start(dnstest.Options{
		Domains: []string{"test"},
		SRV: []dnstest.SRV{
			{Name: "_pop3s._tcp.example.test", Target: "localhost", Port: r.port},
			{Name: "_submissions._tcp.example.test"}, // "." : no outgoing server
		},
	})
	if err != nil {
		stop()
		return nil, nil, err
	}
	stops = append(stops, func() { dns.Stop() })
	r.finder = &autoconfig.Finder{DNS: dns.Addr, ISPDBURL: ispdb.URL + "/v1.1/", StepTimeout: 5 * time.Second}
	return r, stop, nil
}

// setupShotEnv names a PNG file: the test binary then draws the setup wizard, with the steps it
// took for dana@example.test, in a real window and writes it there (make screenshots).
const setupShotEnv = "POPLAR_SETUP_SHOT"

// setupShot is the test binary's screenshot mode (TestMain): a real window on the main goroutine,
// as the app runs, with the rig's Finder.
func setupShot(out string) int {
	logf := func(format string, args ...any) { fmt.Fprintf(os.Stderr, format+"\n", args...) }
	r, stop, err := newSetupRig()
	if err != nil {
		logf("%v", err)
		return 1
	}
	defer stop()
	useSystemFonts(logf)
	dir, err := os.MkdirTemp("", "poplar-setup-shot")
	if err != nil {
		logf("%v", err)
		return 1
	}
	defer os.RemoveAll(dir)
	a := app.NewWithID(AppID + ".setupshot")
	w := a.NewWindow("Poplar")
	w.Resize(fyne.NewSize(1100, 700))
	u, err := New(a, w, Env{ConfigDir: dir, DataDir: dir, Secrets: account.MemSecrets{}, Finder: r.finder})
	if err != nil {
		logf("%v", err)
		return 1
	}
	code := 1
	a.Lifecycle().SetOnStarted(func() {
		wz := u.addAccount()
		wz.fill("Dana Scully", "dana@example.test", "s3cret")
		go func() {
			defer fyne.Do(a.Quit)
			for found := false; !found; time.Sleep(100 * time.Millisecond) {
				fyne.DoAndWait(func() { found = wz.in != nil })
			}
			time.Sleep(1500 * time.Millisecond) // let the window draw the last page
			// The screen as a user sees it (ImageMagick's import; the GL canvas cannot capture itself
			// under Xvfb).
			if msg, err := exec.Command("import", "-window", "root", "-crop", "1100x700+0+0", out).CombinedOutput(); err != nil {
				logf("import: %v: %s", err, msg)
				return
			}
			logf("wrote %s", out)
			code = 0
		}()
	})
	w.ShowAndRun()
	return code
}

// newWizardUI is the app on its first run (no account) with the rig's Finder.
func newWizardUI(t *testing.T, r *setupRig) (*UI, fyne.Window, account.MemSecrets) {
	t.Helper()
	dir := t.TempDir()
	secrets := account.MemSecrets{}
	app := test.NewTempApp(t)
	w := app.NewWindow("Poplar")
	u, err := New(app, w, Env{ConfigDir: dir + "/config", DataDir: dir + "/data", Secrets: secrets, Finder: r.finder})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { u.Close() })
	return u, w, secrets
}

// fill types the name, the address and the password into the wizard's first page and presses
// Continue.
func (w *setupWizard) fill(display, email, password string) {
	w.display.SetText(display)
	w.email.SetText(email)
	w.password.SetText(password)
	w.find()
}

// startWizard opens Add account…, fills it in, and waits until the lookup has ended.
func startWizard(u *UI, display, email, password string) *setupWizard {
	var wz *setupWizard
	u.ui(func() {
		wz = u.addAccount()
		wz.fill(display, email, password)
	})
	u.wait()
	return wz
}

// TestAddAccountFromAddress: the wizard finds the server from the address (SRV), shows the steps
// and what it found, refuses a wrong password without saving, and with the right one saves the
// account (password in the keyring) and shows the main window.
func TestAddAccountFromAddress(t *testing.T) {
	r := startSetupRig(t)
	u, w, secrets := newWizardUI(t, r)
	wz := startWizard(u, "Dana", "dana@example.test", "wrong")
	text := overlayText(w)
	for _, want := range []string{"Looking up the SRV records of example.test… found", "Checking the incoming (POP3) server localhost", "Found and checked"} {
		if !strings.Contains(text, want) {
			t.Errorf("the wizard does not show %q:\n%s", want, text)
		}
	}
	wantIn := fmt.Sprintf("localhost port %d (TLS), from your domain's DNS (SRV records)", r.port)
	if wz.in.Selected != wantIn || !strings.HasPrefix(wz.out.Selected, "None") {
		t.Fatalf("chosen servers %q / %q, want %q / None", wz.in.Selected, wz.out.Selected, wantIn)
	}

	u.ui(wz.add)
	u.wait()
	if !strings.Contains(wz.message.Text, "password") {
		t.Errorf("a wrong password says %q", wz.message.Text)
	}
	if len(u.accounts()) != 0 || w.Content() == u.main {
		t.Fatal("an account was saved after the server refused the password")
	}

	u.ui(func() { wz.password.SetText("s3cret"); wz.add() })
	u.wait()
	u.wait() // saveAccount, then the first check
	a, ok := u.findAccount("dana@example.test")
	if !ok {
		t.Fatalf("no account saved; the wizard says %q", wz.message.Text)
	}
	if a.Host != "localhost" || a.Port != r.port || a.Security != account.SecurityTLS || a.Username != "dana@example.test" ||
		a.DisplayName != "Dana" || a.Email != "dana@example.test" || a.SMTP.Host != "" || !a.LeaveOnServer {
		t.Errorf("saved account %+v", a)
	}
	if secrets["dana@example.test"] != "s3cret" {
		t.Error("the password is not in the keyring")
	}
	if w.Content() != u.main {
		t.Error("the main window is not shown after adding the account")
	}
}

// TestAddAccountNothingFound: for a domain nobody knows the wizard says so, and "Configure
// manually" opens the account editor with the address and password typed.
func TestAddAccountNothingFound(t *testing.T) {
	r := startSetupRig(t)
	u, w, _ := newWizardUI(t, r)
	wz := startWizard(u, "", "kim@nowhere.test", "pw")
	if !strings.Contains(wz.message.Text, "No working POP3 server was found") {
		t.Fatalf("nothing found says %q", wz.message.Text)
	}
	u.ui(func() { test.Tap(findButton(t, wz.page, "Back", new(bool))) })
	if wz.message.Text != "" || wz.email.Text != "kim@nowhere.test" {
		t.Errorf("back on the first page: message %q, address %q", wz.message.Text, wz.email.Text)
	}
	var f *accountForm
	u.ui(func() { f = wz.manual() })
	if f == nil || f.email.Text != "kim@nowhere.test" || f.user.Text != "kim@nowhere.test" || f.password.Text != "pw" ||
		f.name.Text != "kim@nowhere.test" {
		t.Fatalf("Configure manually opened %+v", f)
	}
	if !strings.Contains(overlayText(w), "Login method") {
		t.Error("Configure manually did not open the account editor")
	}
}
