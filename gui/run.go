package gui

import (
	"context"
	"flag"
	"fmt"
	"log"
	"net/url"
	"os"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/app"

	"github.com/poplar-mail/poplar/account/autoconfig"
	"github.com/poplar-mail/poplar/assets"
	"github.com/poplar-mail/poplar/internal/cli"
)

// AppID is Poplar's reverse-DNS application id (preferences live under it).
const AppID = "io.github.poplar_mail.poplar"

// Run starts the desktop app and returns when it quits. args may hold --demo, .eml files (paths
// or file:// URIs) to show in message windows (without the main window), or mailto: links to
// write to (in composers beside the main window).
func Run(ctx context.Context, g cli.Globals, args []string) error {
	fs := flag.NewFlagSet("poplar", flag.ContinueOnError)
	demo := fs.Bool("demo", false, "open a demo mailbox served on this computer (nothing is saved)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	logger := log.New(os.Stderr, "poplar: ", log.LstdFlags)
	useSystemFonts(logger.Printf)
	finder := autoconfig.FromEnv(os.Getenv)
	env := Env{ConfigDir: g.ConfigDir, DataDir: g.DataDir, Logf: logger.Printf, Finder: &finder}
	var d *Demo
	startDemo := func() (*Demo, error) {
		dm, err := StartDemo()
		if err != nil {
			return nil, fmt.Errorf("starting the demo mailbox: %w", err)
		}
		logger.Printf("demo mailbox served at %s", dm.Dir)
		return dm, nil
	}
	if *demo {
		var err error
		if d, err = startDemo(); err != nil {
			return err
		}
		defer d.Close()
		env.ConfigDir, env.DataDir, env.Secrets = d.ConfigDir, d.DataDir, d.Secrets
	}
	a := app.NewWithID(AppID)
	a.SetIcon(assets.Icon)
	files, links := splitArgs(fs.Args())
	if (len(files) > 0 || len(links) > 0) && *demo {
		return fmt.Errorf("--demo and message files or mailto: links cannot be opened together")
	}
	if len(files) > 0 {
		OpenFiles(a, files)
		if len(links) == 0 {
			a.Run()
			return nil
		}
	}
	w := a.NewWindow("Poplar")
	p := a.Preferences()
	w.Resize(fyne.NewSize(float32(p.FloatWithFallback("window.width", 1100)), float32(p.FloatWithFallback("window.height", 700))))
	u, err := New(a, w, env)
	if err != nil {
		return err
	}
	u.setupTray()
	u.demo = func() {
		go func() {
			dm, err := startDemo()
			if err != nil {
				u.do(func() { u.setStatus(err.Error()) })
				return
			}
			u.do(func() { d = dm })
			u.switchEnv(dm.ConfigDir, dm.DataDir, dm.Secrets)
		}()
	}
	quitting := false
	quit := func() {
		if quitting {
			return
		}
		quitting = true
		u.saveLayout()
		u.saveOpenDrafts()
		u.stopSearch()
		w.Hide()
		go func() { // stopping the checks and writing the indexes is not UI work
			u.Close()
			fyne.Do(a.Quit)
		}()
	}
	u.onQuit = quit
	go func() {
		<-ctx.Done()
		fyne.Do(quit)
	}()
	w.SetCloseIntercept(func() {
		if u.keepInTray() {
			u.saveLayout()
			w.Hide()
			return
		}
		quit()
	})
	for _, l := range links {
		u.mailto(l)
	}
	w.Show()
	a.Run()
	if d != nil {
		d.Close()
	}
	return nil
}

// splitArgs sorts the app's arguments into message files (a file:// URI becomes its path) and
// mailto: links.
func splitArgs(args []string) (files, links []string) {
	for _, arg := range args {
		switch l := strings.ToLower(arg); {
		case strings.HasPrefix(l, "mailto:"):
			links = append(links, arg)
		case strings.HasPrefix(l, "file://"):
			if u, err := url.Parse(arg); err == nil && u.Path != "" {
				arg = u.Path
			}
			files = append(files, arg)
		default:
			files = append(files, arg)
		}
	}
	return files, links
}
