// Package assets holds Poplar's original artwork, embedded in the binary: the application icon and
// its small version for the system tray (drawn by icon_gen.go; regenerate with
// `go run assets/icon_gen.go`).
package assets

import (
	_ "embed"

	"fyne.io/fyne/v2"
)

//go:embed icon.png
var iconPNG []byte

// Icon is the application icon.
var Icon = fyne.NewStaticResource("poplar.png", iconPNG)

//go:embed tray.png
var trayPNG []byte

// TrayIcon is the application icon at 64 pixels, for the system tray: the tray keeps its icon as
// uncompressed pixels (and sends them over D-Bus), 1 MB for the 512-pixel Icon, 16 KB for this.
var TrayIcon = fyne.NewStaticResource("poplar-tray.png", trayPNG)
