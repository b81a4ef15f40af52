package gui

import (
	"fmt"
	"sort"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/poplar-mail/poplar/account"
)

// statusBar is the window's bottom line: the last outcome in plain words (selectable, so an
// error can be copied) and, while checks run, their progress and a Cancel button.
type statusBar struct {
	text     *widget.Label
	progress *widget.ProgressBar
	label    *widget.Label
	cancel   *widget.Button
	content  fyne.CanvasObject
	running  map[string]account.Event // account → its last progress event
	logf     func(string, ...any)
}

func newStatusBar(onCancel func(), logf func(string, ...any)) *statusBar {
	s := &statusBar{text: widget.NewLabel("Ready"), progress: widget.NewProgressBar(), label: widget.NewLabel(""),
		running: map[string]account.Event{}, logf: logf}
	s.text.Truncation = fyne.TextTruncateEllipsis
	s.text.Selectable = true
	s.cancel = widget.NewButtonWithIcon("Cancel", theme.CancelIcon(), onCancel)
	s.content = container.NewBorder(nil, nil, nil,
		container.NewHBox(s.label, container.NewGridWrap(fyne.NewSize(160, 24), s.progress), s.cancel), s.text)
	s.showProgress()
	return s
}

// set shows an outcome.
func (s *statusBar) set(text string) {
	s.text.SetText(text)
	s.logf("status: %s", text)
}

// started shows that a check of name began.
func (s *statusBar) started(name string) {
	s.running[name] = account.Event{Account: name}
	s.showProgress()
}

// update shows a check's progress.
func (s *statusBar) update(ev account.Event) {
	if _, ok := s.running[ev.Account]; ok {
		s.running[ev.Account] = ev
		s.showProgress()
	}
}

// finished removes a check from the progress.
func (s *statusBar) finished(name string) {
	delete(s.running, name)
	s.showProgress()
}

func (s *statusBar) showProgress() {
	if len(s.running) == 0 {
		s.progress.Hide()
		s.label.Hide()
		s.cancel.Hide()
		return
	}
	names := make([]string, 0, len(s.running))
	var done, total float64
	for n, ev := range s.running {
		names = append(names, n)
		switch {
		case ev.TotalBytes > 0:
			done, total = done+float64(ev.Bytes)/float64(ev.TotalBytes), total+1
		case ev.TotalMessages > 0:
			done, total = done+float64(ev.Messages)/float64(ev.TotalMessages), total+1
		}
	}
	sort.Strings(names)
	text := "Checking " + strings.Join(names, ", ") + "…"
	if len(names) == 1 {
		if ev := s.running[names[0]]; ev.TotalMessages > 0 {
			text = fmt.Sprintf("%s: %d/%d messages, %s/%s", names[0], ev.Messages, ev.TotalMessages,
				account.FormatSize(ev.Bytes), account.FormatSize(ev.TotalBytes))
		}
	}
	s.progress.SetValue(0)
	if total > 0 {
		s.progress.SetValue(done / total)
	}
	s.label.SetText(text)
	s.progress.Show()
	s.label.Show()
	s.cancel.Show()
}
