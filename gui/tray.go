package gui

import (
	"fmt"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/driver/desktop"

	"github.com/poplar-mail/poplar/assets"
)

// The tray icon (Fyne's system tray, where the desktop has one): the unread count, Get Mail,
// Show Poplar and Quit. With "keep in the tray" set, closing the window hides it and the checks
// go on.

// prefKeepInTray is the preference: closing the window keeps Poplar running in the tray.
const prefKeepInTray = "tray.keep"

// trayMenu is the tray's menu; its first item shows the unread count.
func (u *UI) trayMenu() *fyne.Menu {
	return fyne.NewMenu("Poplar",
		fyne.NewMenuItem("No unread mail", nil),
		fyne.NewMenuItemSeparator(),
		fyne.NewMenuItem("Get Mail", u.getMail),
		fyne.NewMenuItem("Show Poplar", func() { u.win.Show(); u.win.RequestFocus() }),
		fyne.NewMenuItem("Quit", u.quit),
	)
}

// setupTray puts Poplar in the system tray when the app can (a desktop app).
func (u *UI) setupTray() {
	desk, ok := u.app.(desktop.App)
	if !ok {
		return
	}
	u.tray = u.trayMenu()
	u.tray.Items[0].Disabled = true
	desk.SetSystemTrayMenu(u.tray)
	desk.SetSystemTrayIcon(assets.TrayIcon)
}

// updateTray shows the unread count in the tray menu.
func (u *UI) updateTray(unread int) {
	if u.tray == nil {
		return
	}
	text := "No unread mail"
	if unread > 0 {
		text = fmt.Sprintf("%d unread", unread)
	}
	if u.tray.Items[0].Label != text {
		u.tray.Items[0].Label = text
		u.tray.Refresh()
	}
}

// keepInTray reports whether closing the window should keep Poplar running in the tray.
func (u *UI) keepInTray() bool {
	return u.tray != nil && u.app.Preferences().Bool(prefKeepInTray)
}
