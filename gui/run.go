package gui

import (
	"context"
	"flag"
	"fmt"
	"log"
	"os"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/app"

	"github.com/poplar-mail/poplar/assets"
	"github.com/poplar-mail/poplar/internal/cli"
)

// AppID is Poplar's reverse-DNS application id (preferences live under it).
const AppID = "io.github.poplar_mail.poplar"

// Run starts the desktop app and returns when its window closes. args may hold --demo.
func Run(ctx context.Context, g cli.Globals, args []string) error {
	fs := flag.NewFlagSet("poplar", flag.ContinueOnError)
	demo := fs.Bool("demo", false, "open a demo mailbox served on this computer (nothing is saved)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	logger := log.New(os.Stderr, "poplar: ", log.LstdFlags)
	env := Env{ConfigDir: g.ConfigDir, DataDir: g.DataDir, Logf: logger.Printf}
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
	w := a.NewWindow("Poplar")
	p := a.Preferences()
	w.Resize(fyne.NewSize(float32(p.FloatWithFallback("window.width", 1100)), float32(p.FloatWithFallback("window.height", 700))))
	u, err := New(a, w, env)
	if err != nil {
		return err
	}
	u.demo = func() {
		dm, err := startDemo()
		if err != nil {
			u.setStatus(err.Error())
			return
		}
		d = dm
		u.switchEnv(dm.ConfigDir, dm.DataDir, dm.Secrets)
	}
	go func() {
		<-ctx.Done()
		fyne.Do(func() { w.Close() })
	}()
	w.SetCloseIntercept(func() {
		u.Close()
		w.Close()
	})
	w.ShowAndRun()
	if d != nil {
		d.Close()
	}
	return nil
}
