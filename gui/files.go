package gui

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	fynestorage "fyne.io/fyne/v2/storage"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/poplar-mail/poplar/storage"
	"github.com/poplar-mail/poplar/storage/mailview"
)

// Message windows and files: a message in its own window (Enter, or a .eml file), the raw source,
// File → Open of a .eml and saving a message as .eml.

// maxEMLSize bounds a .eml file Poplar opens (the reader reads it whole for the source view only).
const maxEMLSize = 256 << 20

// messageWindow shows one message in a window of its own, with Save as .eml and View source.
// bg and do run work off and on the UI goroutine.
func messageWindow(a fyne.App, sm shownMessage, bg, do func(func())) fyne.Window {
	w := a.NewWindow(firstNonEmpty(sm.title, "Message"))
	status := widget.NewLabel("")
	status.Truncation = fyne.TextTruncateEllipsis
	status.Selectable = true
	r := newReaderPane(w, bg, do)
	r.onStatus = status.SetText
	r.onSource = func(sm *shownMessage) { sourceWindow(a, *sm, bg, do, status.SetText) }
	tmp := ""
	r.tempDir = func() (string, error) {
		if tmp == "" {
			d, err := os.MkdirTemp("", "poplar-open-")
			if err != nil {
				return "", err
			}
			tmp = d
		}
		return tmp, nil
	}
	save := widget.NewButtonWithIcon("Save as .eml…", theme.DocumentSaveIcon(), func() {
		saveEMLDialog(w, sm, bg, do, status.SetText)
	})
	w.SetContent(container.NewBorder(nil, container.NewBorder(nil, nil, nil, save, status), nil, nil, r.content))
	w.Resize(fyne.NewSize(760, 640))
	w.Canvas().SetOnTypedKey(func(e *fyne.KeyEvent) {
		if e.Name == fyne.KeyEscape {
			w.Close()
		}
	})
	w.SetOnClosed(func() {
		if tmp != "" {
			bg(func() { os.RemoveAll(tmp) })
		}
	})
	r.load(sm, false)
	w.Show()
	return w
}

// fileMessage is a .eml file as a message to show.
func fileMessage(path string) shownMessage {
	return shownMessage{key: path, title: filepath.Base(path), open: func() (io.ReadCloser, error) {
		f, err := os.Open(path)
		if err != nil {
			return nil, fmt.Errorf("opening %s: %w", path, err)
		}
		if st, err := f.Stat(); err == nil && (!st.Mode().IsRegular() || st.Size() > maxEMLSize) {
			f.Close()
			return nil, fmt.Errorf("%s is not a message file of at most %d MB", path, maxEMLSize>>20)
		}
		return f, nil
	}}
}

// OpenFiles shows each .eml file in a message window (`poplar FILE.eml`, the file manager).
func OpenFiles(a fyne.App, paths []string) []fyne.Window {
	ws, _ := openFiles(a, paths)
	return ws
}

// openFiles is OpenFiles; the jobs count the windows' background work (tests wait for it).
func openFiles(a fyne.App, paths []string) ([]fyne.Window, *jobs) {
	j := &jobs{}
	var mu sync.Mutex // as UI.do: serialises widget updates where fyne.Do runs inline
	do := func(f func()) {
		fyne.Do(func() {
			mu.Lock()
			defer mu.Unlock()
			f()
		})
	}
	var ws []fyne.Window
	for _, p := range paths {
		ws = append(ws, messageWindow(a, fileMessage(p), j.run, do))
	}
	return ws, j
}

// openMessageWindow opens the message at the cursor in its own window.
func (u *UI) openMessageWindow() {
	sum := u.list.model.get(u.list.model.cursor)
	if sum == nil {
		return
	}
	messageWindow(u.app, shownMessage{key: sum.Key, title: sum.Subject, partial: sum.Partial, fullSize: sum.ServerSize,
		open: u.storeOpener(u.acct, u.folderOf(sum), sum.Key)}, u.bg, u.do)
}

// openFileDialog asks for a .eml file and shows it.
func (u *UI) openFileDialog() {
	d := dialog.NewFileOpen(func(rc fyne.URIReadCloser, err error) {
		if err != nil || rc == nil {
			return
		}
		path := rc.URI().Path()
		rc.Close()
		messageWindow(u.app, fileMessage(path), u.bg, u.do)
	}, u.win)
	d.SetFilter(fynestorage.NewExtensionFileFilter([]string{".eml", ".msg", ".txt"}))
	u.showDialog(d)
}

// saveMessageDialog saves the message at the cursor as a .eml file.
func (u *UI) saveMessageDialog() {
	sum := u.list.model.get(u.list.model.cursor)
	if sum == nil {
		return
	}
	saveEMLDialog(u.win, shownMessage{key: sum.Key, title: sum.Subject, open: u.storeOpener(u.acct, u.folderOf(sum), sum.Key)},
		u.bg, u.do, u.setStatus)
}

// saveEMLDialog asks where to save a message and writes its raw bytes there.
func saveEMLDialog(w fyne.Window, sm shownMessage, bg, do func(func()), status func(string)) {
	d := dialog.NewFileSave(func(wc fyne.URIWriteCloser, err error) {
		if err != nil || wc == nil {
			return
		}
		bg(func() {
			rc, err := sm.open()
			if err == nil {
				_, err = io.Copy(wc, rc)
				rc.Close()
			}
			if cerr := wc.Close(); err == nil {
				err = cerr
			}
			do(func() {
				if err != nil {
					status(fmt.Sprintf("Could not save the message: %v", err))
					return
				}
				status("Saved " + wc.URI().Path())
			})
		})
	}, w)
	d.SetFileName(emlName(sm.title))
	d.Show()
}

// emlName makes a file name from a subject: no separators or control characters, at most 80 bytes.
func emlName(subject string) string {
	s := strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || strings.ContainsRune(`/\:*?"<>|`, r) {
			return '_'
		}
		return r
	}, strings.TrimSpace(subject))
	s = strings.Trim(s, ". ")
	for len(s) > 80 {
		_, size := utf8.DecodeLastRuneInString(s)
		s = s[:len(s)-size]
	}
	if s == "" {
		s = "message"
	}
	return s + ".eml"
}

// viewSource shows the raw message of the reader.
func (u *UI) viewSource(sm *shownMessage) { sourceWindow(u.app, *sm, u.bg, u.do, u.setStatus) }

// sourceWindow shows a raw message (at most 2 MB) in a window where it can be selected and
// copied but not changed, in the normal text colour.
func sourceWindow(a fyne.App, sm shownMessage, bg, do func(func()), status func(string)) {
	bg(func() {
		rc, err := sm.open()
		var data []byte
		if err == nil {
			data, err = io.ReadAll(io.LimitReader(rc, 2<<20))
			rc.Close()
		}
		do(func() {
			if err != nil {
				status(err.Error())
				return
			}
			e := newReadOnlyEntry(strings.ToValidUTF8(string(data), "\uFFFD"))
			e.TextStyle = fyne.TextStyle{Monospace: true}
			e.Wrapping = fyne.TextWrapOff
			w := a.NewWindow("Source — " + firstNonEmpty(sm.title, "message"))
			w.SetContent(e)
			w.Resize(fyne.NewSize(800, 600))
			w.Canvas().SetOnTypedKey(func(k *fyne.KeyEvent) {
				if k.Name == fyne.KeyEscape {
					w.Close()
				}
			})
			w.Show()
		})
	})
}

// readOnlyEntry is a multi-line entry whose text can be selected and copied but not changed. A
// disabled Entry would do that too, but greys the text out; this one keeps it readable.
type readOnlyEntry struct {
	widget.Entry
	text string
}

func newReadOnlyEntry(text string) *readOnlyEntry {
	e := &readOnlyEntry{}
	e.MultiLine = true
	e.ExtendBaseWidget(e)
	e.set(text)
	e.OnChanged = func(s string) {
		if s != e.text {
			e.SetText(e.text) // a paste or a drop that got through
		}
	}
	return e
}

// set replaces the text shown.
func (e *readOnlyEntry) set(text string) {
	e.text = text
	e.SetText(text)
}

// TypedRune ignores typing.
func (e *readOnlyEntry) TypedRune(rune) {}

// TypedKey lets only movement through (and so selection with Shift).
func (e *readOnlyEntry) TypedKey(k *fyne.KeyEvent) {
	switch k.Name {
	case fyne.KeyUp, fyne.KeyDown, fyne.KeyLeft, fyne.KeyRight, fyne.KeyHome, fyne.KeyEnd, fyne.KeyPageUp, fyne.KeyPageDown:
		e.Entry.TypedKey(k)
	}
}

// TypedShortcut allows copy and select all only.
func (e *readOnlyEntry) TypedShortcut(s fyne.Shortcut) {
	switch s.(type) {
	case *fyne.ShortcutCopy, *fyne.ShortcutSelectAll:
		e.Entry.TypedShortcut(s)
	}
}

// conversationWindow shows every message of a conversation in one window, oldest first in thread
// order, each with its sender, date and text. The messages are read in the background.
func (u *UI) conversationWindow(conv []storage.Summary) {
	acct := u.acct
	w := u.app.NewWindow(firstNonEmpty(conv[0].Subject, "Conversation"))
	box := container.NewVBox(widget.NewLabel(fmt.Sprintf("Reading %d messages…", len(conv))))
	w.SetContent(container.NewVScroll(box))
	w.Resize(fyne.NewSize(760, 680))
	w.Canvas().SetOnTypedKey(func(e *fyne.KeyEvent) {
		if e.Name == fyne.KeyEscape {
			w.Close()
		}
	})
	w.Show()
	u.bg(func() {
		type part struct {
			sum storage.Summary
			msg *mailview.Message
			err error
		}
		parts := make([]part, len(conv))
		for i, sum := range conv {
			parts[i].sum = sum
			rc, err := u.storeOpener(acct, u.folderOf(&sum), sum.Key)()
			if err == nil {
				parts[i].msg, err = mailview.Read(rc, mailview.Options{})
				rc.Close()
			}
			parts[i].err = err
		}
		u.do(func() {
			box.RemoveAll()
			for _, p := range parts {
				head := widget.NewLabelWithStyle(fmt.Sprintf("%s — %s", firstNonEmpty(p.sum.From, "(no sender)"), listDate(p.sum.Date, time.Now())),
					fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
				head.Selectable = true
				box.Add(head)
				if p.err != nil {
					box.Add(widget.NewLabel("Cannot read this message: " + p.err.Error()))
				} else {
					body := widget.NewRichText(bodySegments(p.msg.Body)...)
					body.Wrapping = fyne.TextWrapWord
					box.Add(body)
				}
				box.Add(widget.NewSeparator())
			}
		})
	})
}
