package gui

import (
	"fmt"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/poplar-mail/poplar/storage"
)

// folderTree shows the accounts and their folders (Maildir++ "Work.Sub" nests under "Work"),
// with unread counts and an error mark on an account whose last check failed. Node ids are
// "account" and "account\x00Folder".
type folderTree struct {
	tree     *widget.Tree
	accounts []string
	info     map[string][]storage.FolderInfo
	errs     map[string]string // account → the last check's error, until a check succeeds

	onSelect func(acct, folder string)
	onMenu   func(acct, folder string, pos fyne.Position)
}

func newFolderTree() *folderTree {
	t := &folderTree{info: map[string][]storage.FolderInfo{}, errs: map[string]string{}}
	t.tree = widget.NewTree(t.children, t.isBranch, func(bool) fyne.CanvasObject { return newTreeNode() }, t.update)
	t.tree.OnSelected = func(id widget.TreeNodeID) {
		acct, folder := splitNode(id)
		if folder == "" {
			folder = storage.Inbox
			t.tree.OpenBranch(id)
		}
		if t.onSelect != nil {
			t.onSelect(acct, folder)
		}
	}
	return t
}

func nodeID(acct, folder string) string { return acct + "\x00" + folder }

func splitNode(id string) (acct, folder string) {
	acct, folder, _ = strings.Cut(id, "\x00")
	return acct, folder
}

// parentFolder is the folder a Maildir++ folder nests under ("Work" for "Work.Sub"), or "".
func parentFolder(name string, exists func(string) bool) string {
	for i := strings.LastIndexByte(name, '.'); i > 0; i = strings.LastIndexByte(name[:i], '.') {
		if exists(name[:i]) {
			return name[:i]
		}
	}
	return ""
}

func (t *folderTree) has(acct, folder string) bool {
	for _, f := range t.info[acct] {
		if f.Name == folder {
			return true
		}
	}
	return false
}

func (t *folderTree) children(id widget.TreeNodeID) []widget.TreeNodeID {
	if id == "" {
		return append([]string(nil), t.accounts...)
	}
	acct, parent := splitNode(id)
	var ids []string
	for _, f := range t.info[acct] {
		if parentFolder(f.Name, func(n string) bool { return t.has(acct, n) }) == parent {
			ids = append(ids, nodeID(acct, f.Name))
		}
	}
	return ids
}

func (t *folderTree) isBranch(id widget.TreeNodeID) bool {
	return id == "" || len(t.children(id)) > 0 || !strings.Contains(id, "\x00")
}

func (t *folderTree) update(id widget.TreeNodeID, _ bool, o fyne.CanvasObject) {
	n := o.(*treeNode)
	acct, folder := splitNode(id)
	n.onSecondary = func(pos fyne.Position) {
		if t.onMenu != nil {
			t.onMenu(acct, folder, pos)
		}
	}
	if folder == "" {
		unread := 0
		for _, f := range t.info[acct] {
			if f.Name == storage.Inbox {
				unread = f.Unread
			}
		}
		n.set(withCount(acct, unread), true, t.errs[acct])
		return
	}
	label := folder
	if p := parentFolder(folder, func(n string) bool { return t.has(acct, n) }); p != "" {
		label = folder[len(p)+1:]
	}
	for _, f := range t.info[acct] {
		if f.Name == folder {
			n.set(withCount(label, f.Unread), f.Unread > 0, "")
			return
		}
	}
	n.set(label, false, "")
}

// setFolders replaces the accounts and their folders and redraws.
func (t *folderTree) setFolders(accounts []string, info map[string][]storage.FolderInfo) {
	t.accounts, t.info = accounts, info
	t.tree.Refresh()
}

// setError marks an account as failing (text "" clears the mark).
func (t *folderTree) setError(acct, text string) {
	if text == "" {
		delete(t.errs, acct)
	} else {
		t.errs[acct] = text
	}
	t.tree.Refresh()
}

// unread is the number of unread messages in every account's Inbox.
func (t *folderTree) unread() int {
	n := 0
	for _, fs := range t.info {
		for _, f := range fs {
			if f.Name == storage.Inbox {
				n += f.Unread
			}
		}
	}
	return n
}

func withCount(s string, n int) string {
	if n == 0 {
		return s
	}
	return fmt.Sprintf("%s (%d)", s, n)
}

// treeNode is a folder tree row: a name that truncates (so the tree never needs a horizontal
// scrollbar) and an error mark; it opens the folder menu on a secondary tap.
type treeNode struct {
	widget.BaseWidget
	label       *widget.Label
	mark        *widget.Icon
	onSecondary func(pos fyne.Position)
}

func newTreeNode() *treeNode {
	n := &treeNode{label: widget.NewLabel("Account name (000)"), mark: widget.NewIcon(theme.ErrorIcon())}
	n.label.Truncation = fyne.TextTruncateEllipsis
	n.mark.Hide()
	n.ExtendBaseWidget(n)
	return n
}

func (n *treeNode) set(text string, bold bool, errText string) {
	n.label.TextStyle = fyne.TextStyle{Bold: bold}
	n.label.SetText(text)
	if errText != "" {
		n.mark.Show()
	} else {
		n.mark.Hide()
	}
}

// TappedSecondary opens the folder menu.
func (n *treeNode) TappedSecondary(e *fyne.PointEvent) {
	if n.onSecondary != nil {
		n.onSecondary(e.AbsolutePosition)
	}
}

// CreateRenderer puts the error mark after the name.
func (n *treeNode) CreateRenderer() fyne.WidgetRenderer {
	return widget.NewSimpleRenderer(container.NewBorder(nil, nil, nil, n.mark, n.label))
}
