// Package assets holds Poplar's original artwork, embedded in the binary: the application icon
// (drawn by icon_gen.go; regenerate with `go run assets/icon_gen.go`).
package assets

import (
	_ "embed"

	"fyne.io/fyne/v2"
)

//go:embed icon.png
var iconPNG []byte

// Icon is the application icon.
var Icon = fyne.NewStaticResource("poplar.png", iconPNG)
