package storage

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// errAny stands for "some error" in a test table.
var errAny = errors.New("any error")

// checkErr fails when err is not what want asks for: nil, errAny (any error), or an error that
// errors.Is finds in err.
func checkErr(t *testing.T, call string, err, want error) {
	t.Helper()
	switch {
	case want == nil && err != nil, want != nil && err == nil,
		want != nil && want != errAny && !errors.Is(err, want):
		t.Fatalf("%s = %v, want %v", call, err, want)
	}
}

// organised returns a store with these folders and messages (each subject a message, delivered to
// the Inbox and moved) and the key of each subject:
//
//	Inbox: m0   Work: m1   Work.Sub: m2   Work.Sub.Deep: m3   Workshop: m4   Other: m5
//
// m2 is flagged; m0 is unread in new/, the others are in cur/.
func organised(t *testing.T) (*Store, map[string]string) {
	t.Helper()
	s := openStore(t)
	where := map[string]string{"m0": Inbox, "m1": "Work", "m2": "Work.Sub", "m3": "Work.Sub.Deep", "m4": "Workshop", "m5": "Other"}
	msgs := map[string]string{}
	for subj := range where {
		msgs[subj] = msg(subj, "body of "+subj)
	}
	keys := deliver(t, s, msgs) // UIDL = subject
	for subj, folder := range where {
		if folder == Inbox {
			continue
		}
		if err := s.CreateFolder(folder); err != nil {
			t.Fatal(err)
		}
		if err := s.Move(Inbox, folder, []string{keys[subj]}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.SetFlags("Work.Sub", []string{keys["m2"]}, FlagFlagged, 0); err != nil {
		t.Fatal(err)
	}
	return s, keys
}

// layout describes a store as "Folder: subjects" lines, one per folder in the order Folders gives.
func layout(t *testing.T, s *Store) string {
	t.Helper()
	folders, err := s.Folders()
	if err != nil {
		t.Fatalf("Folders() = %v", err)
	}
	var b strings.Builder
	for _, fi := range folders {
		sums, err := s.Summaries(fi.Name)
		if err != nil {
			t.Fatalf("Summaries(%q) = %v", fi.Name, err)
		}
		var subjects []string
		for _, m := range sums {
			subjects = append(subjects, m.Subject)
			if m.Folder != fi.Name {
				t.Errorf("message %s listed in %q says it is in %q", m.Key, fi.Name, m.Folder)
			}
		}
		slices.Sort(subjects)
		fmt.Fprintf(&b, "%s: %s\n", fi.Name, strings.Join(subjects, " "))
	}
	return b.String()
}

const organisedLayout = `Inbox: m0
Other: m5
Work: m1
Work.Sub: m2
Work.Sub.Deep: m3
Workshop: m4
Trash: 
`

func TestFoldersTree(t *testing.T) {
	s := openStore(t)
	for _, n := range []string{"Work.Sub.Deep", "Work-A", "Archive", "Inbox.Kids", "Trash.Old", "Work"} {
		if err := s.CreateFolder(n); err != nil {
			t.Fatalf("CreateFolder(%q) = %v", n, err)
		}
	}
	md := filepath.Join(s.Dir(), "Maildir")
	for _, d := range []string{
		".Lone.Child/cur", ".Lone.Child/new", ".Lone.Child/tmp", // made by another program, without .Lone
		".Broken/tmp",                         // a folder whose removal a crash cut short: no cur/
		".a..b/cur", ".a..b/new", ".a..b/tmp", // not a valid name
	} {
		if err := os.MkdirAll(filepath.Join(md, d), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	folders, err := s.Folders()
	if err != nil {
		t.Fatalf("Folders() = %v", err)
	}
	want := []struct {
		name, parent, base string
		depth              int
	}{
		{Inbox, "", Inbox, 0},
		{"Inbox.Kids", Inbox, "Kids", 1},
		{"Archive", "", "Archive", 0},
		{"Lone", "", "Lone", 0},
		{"Lone.Child", "Lone", "Child", 1},
		{"Work", "", "Work", 0},
		{"Work.Sub", "Work", "Sub", 1},
		{"Work.Sub.Deep", "Work.Sub", "Deep", 2},
		{"Work-A", "", "Work-A", 0},
		{Trash, "", Trash, 0},
		{"Trash.Old", Trash, "Old", 1},
	}
	var got []string
	for _, fi := range folders {
		got = append(got, fi.Name)
	}
	if len(folders) != len(want) {
		t.Fatalf("Folders() = %q, want %d folders", got, len(want))
	}
	listed := map[string]bool{}
	for i, w := range want {
		fi := folders[i]
		if fi.Name != w.name || fi.Parent() != w.parent || fi.Base() != w.base || fi.Depth() != w.depth {
			t.Errorf("Folders()[%d] = %q (parent %q, base %q, depth %d), want %q (%q, %q, %d)",
				i, fi.Name, fi.Parent(), fi.Base(), fi.Depth(), w.name, w.parent, w.base, w.depth)
		}
		if p := fi.Parent(); p != "" && !listed[p] {
			t.Errorf("%q listed before its parent %q", fi.Name, p)
		}
		listed[fi.Name] = true
	}
	if _, err := os.Stat(filepath.Join(md, ".Lone", "cur")); err != nil {
		t.Errorf("the missing parent Lone was not made: %v", err)
	}
	for _, n := range []string{Sent, Outbox} {
		if _, err := os.Stat(filepath.Join(md, "."+n)); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("Open made folder %q: %v", n, err)
		}
	}
	if Sent != "Sent" || Outbox != "Outbox" {
		t.Errorf("Sent, Outbox = %q, %q", Sent, Outbox)
	}
}

func TestCompareFolders(t *testing.T) {
	tests := []struct {
		a, b string
		want int
	}{
		{"Work", "Work", 0},
		{"Work", "Work.Sub", -1},
		{"Work.Sub", "Work", 1},
		{"Work.Sub", "Work-A", -1}, // byte order would put "Work-A" first
		{"Work.Sub.Deep", "Work.Subway", -1},
		{Inbox, "Archive", -1},
		{"Inbox.Kids", "Archive", -1},
		{"Zoo", Trash, -1},
		{Trash, "Trash.Old", -1},
		{"Trash.Old", "Zoo", 1},
		{"Trashcan", Trash, -1}, // not inside the Trash
	}
	for _, tt := range tests {
		if got := compareFolders(tt.a, tt.b); got != tt.want {
			t.Errorf("compareFolders(%q, %q) = %d, want %d", tt.a, tt.b, got, tt.want)
		}
	}
}

func TestRenameFolder(t *testing.T) {
	long := strings.Repeat("L", 92) // fits, but "LLL….Sub.Deep" does not
	tests := []struct {
		name     string
		prep     func(t *testing.T, s *Store)
		old, new string
		wantErr  error
		want     string // layout after; "" for unchanged
	}{
		{name: "with subfolders", old: "Work", new: "Job", want: `Inbox: m0
Job: m1
Job.Sub: m2
Job.Sub.Deep: m3
Other: m5
Workshop: m4
Trash: 
`},
		{name: "into another folder", old: "Work.Sub", new: "Other.Sub", want: `Inbox: m0
Other: m5
Other.Sub: m2
Other.Sub.Deep: m3
Work: m1
Workshop: m4
Trash: 
`},
		{name: "under a new parent", old: "Work.Sub", new: "New.Place", want: `Inbox: m0
New: 
New.Place: m2
New.Place.Deep: m3
Other: m5
Work: m1
Workshop: m4
Trash: 
`},
		{name: "up a level", old: "Work.Sub.Deep", new: "Deep", want: `Inbox: m0
Deep: m3
Other: m5
Work: m1
Work.Sub: m2
Workshop: m4
Trash: 
`},
		{name: "to its own name", old: "Work", new: "Work"},
		{name: "Inbox", old: Inbox, new: "X", wantErr: ErrSpecialFolder},
		{name: "Inbox by empty name", old: "", new: "X", wantErr: ErrSpecialFolder},
		{name: "Trash", old: Trash, new: "X", wantErr: ErrSpecialFolder},
		{name: "onto a folder", old: "Work", new: "Workshop", wantErr: ErrFolderExists},
		{name: "onto the Trash", old: "Work", new: Trash, wantErr: ErrFolderExists},
		{name: "onto a subfolder's name", old: "Other", new: "Work.Sub", wantErr: ErrFolderExists},
		{name: "subfolder's new name taken", old: "Work", new: "Clash", wantErr: ErrFolderExists,
			prep: func(t *testing.T, s *Store) {
				// Another program made .Clash.Sub (without .Clash).
				os.MkdirAll(filepath.Join(s.Dir(), "Maildir", ".Clash.Sub", "cur"), 0o700)
			}},
		{name: "a subfolder cannot move", old: "Work", new: "Job", wantErr: fs.ErrPermission,
			prep: func(t *testing.T, s *Store) {
				// The third rename fails: the two before are renamed back.
				immutable(t, filepath.Join(s.Dir(), "Maildir", ".Work.Sub.Deep"))
			}},
		{name: "inside itself", old: "Work", new: "Work.Inner", wantErr: errAny},
		{name: "missing", old: "Missing", new: "X", wantErr: ErrNoFolder},
		{name: "prefix is not a parent", old: "Wor", new: "X", wantErr: ErrNoFolder},
		{name: "path in new name", old: "Work", new: "../evil", wantErr: errAny},
		{name: "slash in new name", old: "Work", new: "a/b", wantErr: errAny},
		{name: "empty level", old: "Work", new: "a..b", wantErr: errAny},
		{name: "path in old name", old: "../Maildir", new: "X", wantErr: errAny},
		{name: "subfolder name too long", old: "Work", new: long, wantErr: errAny},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, _ := organised(t)
			if tt.prep != nil {
				tt.prep(t, s)
			}
			before, _ := os.ReadDir(filepath.Join(s.Dir(), "Maildir"))
			err := s.RenameFolder(tt.old, tt.new)
			checkErr(t, fmt.Sprintf("RenameFolder(%q, %q)", tt.old, tt.new), err, tt.wantErr)
			if tt.wantErr != nil {
				after, _ := os.ReadDir(filepath.Join(s.Dir(), "Maildir"))
				if fmt.Sprint(before) != fmt.Sprint(after) {
					t.Errorf("a failed rename changed the Maildir: %v, was %v", after, before)
				}
				if _, err := os.Lstat(filepath.Join(s.Dir(), "evil")); err == nil {
					t.Error("a folder was made outside the Maildir")
				}
				return
			}
			want := tt.want
			if want == "" {
				want = organisedLayout
			}
			if got := layout(t, s); got != want {
				t.Errorf("after RenameFolder(%q, %q):\n%s\nwant:\n%s", tt.old, tt.new, got, want)
			}
			// A fresh Store (another process) sees the same.
			s2, err := Open(s.Dir())
			if err != nil {
				t.Fatal(err)
			}
			if got := layout(t, s2); got != want {
				t.Errorf("reopened after RenameFolder(%q, %q):\n%s\nwant:\n%s", tt.old, tt.new, got, want)
			}
		})
	}
}

// TestRenameFolderCacheAndIndex: after a rename, neither this Store nor another that had the folder
// cached serves the old path, the index file moved with the folder, and keys stayed.
func TestRenameFolderCacheAndIndex(t *testing.T) {
	s, keys := organised(t)
	other, err := Open(s.Dir()) // another process, with the folder cached
	if err != nil {
		t.Fatal(err)
	}
	for _, st := range []*Store{s, other} {
		if _, err := st.Summaries("Work.Sub"); err != nil {
			t.Fatal(err)
		}
	}
	s.Close() // the index files are written
	idx := func(name string) string { return filepath.Join(s.Dir(), "poplar", "index", indexFileName(name)) }
	if _, err := os.Stat(idx("Work.Sub")); err != nil {
		t.Fatal(err)
	}
	if err := s.RenameFolder("Work", "Job"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(idx("Job.Sub")); err != nil {
		t.Errorf("index of Job.Sub: %v", err)
	}
	if _, err := os.Stat(idx("Work.Sub")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("index of Work.Sub left behind: %v", err)
	}
	for i, st := range []*Store{s, other} {
		if _, err := st.Summaries("Work.Sub"); !errors.Is(err, ErrNoFolder) {
			t.Errorf("store %d: Summaries(Work.Sub) after the rename = %v, want ErrNoFolder", i, err)
		}
		m, err := st.Summary("Job.Sub", keys["m2"])
		if err != nil || m.Folder != "Job.Sub" || m.Flags != FlagFlagged {
			t.Errorf("store %d: Summary(Job.Sub, m2) = %+v, %v", i, m, err)
		}
		p, err := st.MessagePath("Job.Sub", keys["m2"])
		if err != nil || !strings.Contains(p, "/.Job.Sub/cur/") {
			t.Errorf("store %d: MessagePath(Job.Sub, m2) = %s, %v", i, p, err)
		}
	}
	s.Close()
	if _, err := os.Stat(idx("Work.Sub")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Close wrote the index of the old name: %v", err)
	}
}

func TestDeleteFolder(t *testing.T) {
	tests := []struct {
		name      string
		folder    string
		wantMoved int
		wantErr   error
		want      string // layout after; "" for unchanged
	}{
		{name: "with subfolders", folder: "Work", wantMoved: 4, want: `Inbox: m0
Other: m5
Workshop: m4
Trash: foreign m1 m2 m3
`},
		{name: "a subfolder", folder: "Work.Sub", wantMoved: 2, want: `Inbox: m0
Other: m5
Work: foreign m1
Workshop: m4
Trash: m2 m3
`},
		{name: "Inbox", folder: Inbox, wantErr: ErrSpecialFolder},
		{name: "Inbox by empty name", folder: "", wantErr: ErrSpecialFolder},
		{name: "Trash", folder: Trash, wantErr: ErrSpecialFolder},
		{name: "missing", folder: "Missing", wantErr: ErrNoFolder},
		{name: "prefix is not a parent", folder: "Wor", wantErr: ErrNoFolder},
		{name: "path", folder: "../Maildir", wantErr: errAny},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, keys := organised(t)
			md := filepath.Join(s.Dir(), "Maildir")
			// A message another program dropped into new/, and a dot file (not a message).
			os.WriteFile(filepath.Join(md, ".Work", "new", "1700000000.foreign.host"), []byte(msg("foreign", "x")), 0o600)
			os.WriteFile(filepath.Join(md, ".Work", "cur", ".notes"), []byte("x"), 0o600)
			s.Close()
			moved, err := s.DeleteFolder(tt.folder)
			checkErr(t, fmt.Sprintf("DeleteFolder(%q)", tt.folder), err, tt.wantErr)
			if moved != tt.wantMoved {
				t.Errorf("DeleteFolder(%q) moved %d, want %d", tt.folder, moved, tt.wantMoved)
			}
			want := tt.want
			if want == "" {
				want = strings.Replace(organisedLayout, "Work: m1", "Work: foreign m1", 1)
			}
			if got := layout(t, s); got != want {
				t.Errorf("after DeleteFolder(%q):\n%s\nwant:\n%s", tt.folder, got, want)
			}
			if tt.wantErr != nil {
				return
			}
			des, _ := os.ReadDir(md)
			for _, de := range des {
				if n := de.Name(); n == "."+tt.folder || strings.HasPrefix(n, "."+tt.folder+".") {
					t.Errorf("%s is still on disk", n)
				}
			}
			idx, _ := filepath.Glob(filepath.Join(s.Dir(), "poplar", "index", indexFileName(tt.folder)))
			if len(idx) != 0 {
				t.Errorf("index files left: %v", idx)
			}
			// Keys and flags survive; a message from new/ is in cur/ with empty info.
			if m, err := s.Summary(Trash, keys["m2"]); err != nil || m.Flags != FlagFlagged {
				t.Errorf("m2 in the Trash: %+v, %v", m, err)
			}
			if p, err := s.MessagePath(Trash, "1700000000.foreign.host"); tt.folder == "Work" && (err != nil || !strings.HasSuffix(p, "/cur/1700000000.foreign.host:2,")) {
				t.Errorf("foreign message in the Trash at %s, %v", p, err)
			}
			if u, _ := s.ExpungedUIDLs(); len(u) != 0 {
				t.Errorf("DeleteFolder counted as deletion: %v", u)
			}
			// Another Store sees the same, and an index that was written before the delete is
			// not served for a folder made again under the name.
			s2, err := Open(s.Dir())
			if err != nil {
				t.Fatal(err)
			}
			if got := layout(t, s2); got != want {
				t.Errorf("reopened after DeleteFolder(%q):\n%s\nwant:\n%s", tt.folder, got, want)
			}
			if err := s2.CreateFolder(tt.folder); err != nil {
				t.Fatal(err)
			}
			if sums, err := s2.Summaries(tt.folder); err != nil || len(sums) != 0 {
				t.Errorf("folder %q made again holds %d messages, %v", tt.folder, len(sums), err)
			}
		})
	}
}

// TestDeleteFolderInterrupted: the states a crash or another program can leave DeleteFolder in
// lose no message and do not break the folder list.
func TestDeleteFolderInterrupted(t *testing.T) {
	s := openStore(t)
	md := filepath.Join(s.Dir(), "Maildir")
	for _, n := range []string{"Half", "Gone", "Busy"} {
		if err := s.CreateFolder(n); err != nil {
			t.Fatal(err)
		}
	}
	// Half: new/ removed, cur/ not yet, and a message arrived in cur/ meanwhile.
	os.WriteFile(filepath.Join(md, ".Half", "cur", "1700000000.late.host:2,S"), []byte(msg("late", "x")), 0o600)
	os.Remove(filepath.Join(md, ".Half", "new"))
	// Gone: new/ and cur/ removed, the rest not yet.
	os.Remove(filepath.Join(md, ".Gone", "new"))
	os.Remove(filepath.Join(md, ".Gone", "cur"))
	if got, want := layout(t, s), "Inbox: \nBusy: \nHalf: late\nTrash: \n"; got != want {
		t.Errorf("folders:\n%s\nwant:\n%s", got, want)
	}
	if err := s.RenameFolder("Gone", "Back"); !errors.Is(err, ErrNoFolder) {
		t.Errorf("RenameFolder of a folder half removed = %v, want ErrNoFolder", err)
	}
	// Busy: a message is put in after the moves; removing the folder must fail, not lose it.
	os.WriteFile(filepath.Join(md, ".Busy", "cur", "1700000001.race.host:2,"), []byte(msg("race", "x")), 0o600)
	err := removeMaildir(filepath.Join(md, ".Busy"))
	if !errors.Is(err, fs.ErrExist) {
		t.Errorf("removeMaildir of a folder holding a message = %v, want ENOTEMPTY", err)
	}
	if _, err := os.Stat(filepath.Join(md, ".Busy", "cur", "1700000001.race.host:2,")); err != nil {
		t.Errorf("the message was lost: %v", err)
	}
	// DeleteFolder finishes each of them.
	for _, n := range []string{"Half", "Busy"} {
		if _, err := s.DeleteFolder(n); err != nil {
			t.Errorf("DeleteFolder(%q) = %v", n, err)
		}
	}
	if got, want := layout(t, s), "Inbox: \nTrash: late race\n"; got != want {
		t.Errorf("after DeleteFolder:\n%s\nwant:\n%s", got, want)
	}
}

func TestRestoreToOrigin(t *testing.T) {
	tests := []struct {
		name    string
		steps   func(t *testing.T, s *Store, k map[string]string) *Store // returns the store to restore with
		restore []string                                                 // subjects
		wantErr error
		want    map[string]string // subject -> folder after Restore
	}{
		{name: "from a folder", restore: []string{"m1", "m3"}, want: map[string]string{"m1": "Work", "m3": "Work.Sub.Deep"},
			steps: func(t *testing.T, s *Store, k map[string]string) *Store {
				must(t, s.Delete("Work", []string{k["m1"]}))
				must(t, s.Delete("Work.Sub.Deep", []string{k["m3"]}))
				return s
			}},
		{name: "from the Inbox", restore: []string{"m0"}, want: map[string]string{"m0": Inbox},
			steps: func(t *testing.T, s *Store, k map[string]string) *Store {
				must(t, s.Delete(Inbox, []string{k["m0"]}))
				return s
			}},
		{name: "moved there", restore: []string{"m5"}, want: map[string]string{"m5": "Other"},
			steps: func(t *testing.T, s *Store, k map[string]string) *Store {
				must(t, s.Move("Other", Trash, []string{k["m5"]}))
				return s
			}},
		{name: "deleted twice", restore: []string{"m1"}, want: map[string]string{"m1": "Other"},
			steps: func(t *testing.T, s *Store, k map[string]string) *Store {
				must(t, s.Delete("Work", []string{k["m1"]}))
				must(t, s.Move(Trash, "Other", []string{k["m1"]}))
				must(t, s.Delete("Other", []string{k["m1"]}))
				return s
			}},
		{name: "after reopening", restore: []string{"m1"}, want: map[string]string{"m1": "Work"},
			steps: func(t *testing.T, s *Store, k map[string]string) *Store {
				must(t, s.Delete("Work", []string{k["m1"]}))
				s.Close()
				s2, err := Open(s.Dir())
				must(t, err)
				return s2
			}},
		{name: "folder deleted", restore: []string{"m1", "m2", "m3"}, want: map[string]string{"m1": Inbox, "m2": Inbox, "m3": Inbox},
			steps: func(t *testing.T, s *Store, k map[string]string) *Store {
				must(t, s.Delete("Work", []string{k["m1"]}))
				_, err := s.DeleteFolder("Work")
				must(t, err)
				return s
			}},
		{name: "folder made again", restore: []string{"m2", "m3"}, want: map[string]string{"m2": "Work.Sub", "m3": Inbox},
			steps: func(t *testing.T, s *Store, k map[string]string) *Store {
				_, err := s.DeleteFolder("Work.Sub")
				must(t, err)
				must(t, s.CreateFolder("Work.Sub"))
				return s
			}},
		{name: "folder renamed", restore: []string{"m1", "m2", "m4"}, want: map[string]string{"m1": "Job", "m2": "Job.Sub", "m4": "Workshop"},
			steps: func(t *testing.T, s *Store, k map[string]string) *Store {
				must(t, s.Delete("Work", []string{k["m1"]}))
				must(t, s.Delete("Work.Sub", []string{k["m2"]}))
				must(t, s.Delete("Workshop", []string{k["m4"]}))
				must(t, s.RenameFolder("Work", "Job"))
				return s
			}},
		{name: "record lost", restore: []string{"m1"}, want: map[string]string{"m1": Inbox},
			steps: func(t *testing.T, s *Store, k map[string]string) *Store {
				must(t, s.Delete("Work", []string{k["m1"]}))
				must(t, os.Remove(filepath.Join(s.Dir(), "poplar", originsFile)))
				return s
			}},
		{name: "torn and bad records", restore: []string{"m1", "m5"}, want: map[string]string{"m1": "Work", "m5": "Other"},
			steps: func(t *testing.T, s *Store, k map[string]string) *Store {
				must(t, s.Delete("Work", []string{k["m1"]}))
				appendFile(t, filepath.Join(s.Dir(), "poplar", originsFile), "junk\nT %zz Work\nT "+k["m1"]+" Work.Sub")
				must(t, s.Delete("Other", []string{k["m5"]})) // cuts the torn line off before appending
				return s
			}},
		{name: "hostile records", restore: []string{"m1", "m2"}, want: map[string]string{"m1": Inbox, "m2": Inbox},
			steps: func(t *testing.T, s *Store, k map[string]string) *Store {
				must(t, s.Delete("Work", []string{k["m1"]}))
				must(t, s.Delete("Work.Sub", []string{k["m2"]}))
				appendFile(t, filepath.Join(s.Dir(), "poplar", originsFile),
					"T "+k["m1"]+" ../../evil\nT "+k["m2"]+" Trash\n")
				return s
			}},
		{name: "not in the Trash", restore: []string{"m0"}, wantErr: ErrNotFound, want: map[string]string{"m0": Inbox},
			steps: func(t *testing.T, s *Store, k map[string]string) *Store { return s }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, keys := organised(t)
			s = tt.steps(t, s, keys)
			var restore []string
			for _, subj := range tt.restore {
				restore = append(restore, keys[subj])
			}
			checkErr(t, "Restore", s.Restore(restore), tt.wantErr)
			for subj, folder := range tt.want {
				m, err := s.Summary(folder, keys[subj])
				if err != nil || m.Subject != subj {
					t.Errorf("%s after Restore: not in %q (%v)\n%s", subj, folder, err, layout(t, s))
				}
			}
			if _, err := os.Lstat(filepath.Join(s.Dir(), "..", "evil")); err == nil {
				t.Error("Restore made a folder outside the Maildir")
			}
		})
	}
}

// TestOriginsCompacted: the record of where messages came from stays small and keeps what the
// messages still in the Trash need.
func TestOriginsCompacted(t *testing.T) {
	s, keys := organised(t)
	p := filepath.Join(s.Dir(), "poplar", originsFile)
	must(t, s.Delete("Work", []string{keys["m1"]}))
	var junk strings.Builder
	for junk.Len() <= originsCompactSize {
		junk.WriteString("T 1600000000.gone.host Elsewhere\n")
	}
	appendFile(t, p, junk.String())
	must(t, s.Delete("Other", []string{keys["m5"]}))
	fi, err := os.Stat(p)
	if err != nil || fi.Size() > 1024 {
		t.Errorf("origins file after compaction: %v bytes, %v", fi.Size(), err)
	}
	must(t, s.Restore([]string{keys["m1"], keys["m5"]}))
	for subj, folder := range map[string]string{"m1": "Work", "m5": "Other"} {
		if _, err := s.Summary(folder, keys[subj]); err != nil {
			t.Errorf("%s not restored to %s: %v", subj, folder, err)
		}
	}
}

// TestUndo: a delete or a move is undone by moving the messages back; they keep key and flags.
func TestUndo(t *testing.T) {
	tests := []struct {
		name     string
		subjects []string
		from, to string
		do       func(s *Store, from, to string, keys []string) error
	}{
		{"delete", []string{"m1"}, "Work", Trash, func(s *Store, from, _ string, keys []string) error { return s.Delete(from, keys) }},
		{"delete unread from new/", []string{"m0"}, Inbox, Trash, func(s *Store, from, _ string, keys []string) error { return s.Delete(from, keys) }},
		{"delete flagged", []string{"m2"}, "Work.Sub", Trash, func(s *Store, from, _ string, keys []string) error { return s.Delete(from, keys) }},
		{"move", []string{"m0"}, Inbox, "Work", (*Store).Move},
		{"move several", []string{"m1", "m4"}, "Work", "Other", func(s *Store, _, to string, keys []string) error {
			return errors.Join(s.Move("Work", to, keys[:1]), s.Move("Workshop", to, keys[1:]))
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, k := organised(t)
			want := layout(t, s)
			var keys []string
			before := map[string]Summary{}
			for _, subj := range tt.subjects {
				keys = append(keys, k[subj])
				folder := tt.from
				if subj == "m4" {
					folder = "Workshop"
				}
				before[subj], _ = s.Summary(folder, k[subj])
			}
			must(t, tt.do(s, tt.from, tt.to, keys))
			// Undo: Move(to, from, keys), for each folder the messages came from.
			for _, subj := range tt.subjects {
				back := before[subj].Folder
				must(t, s.Move(tt.to, back, []string{k[subj]}))
				m, err := s.Summary(back, k[subj])
				if err != nil || m.Flags != before[subj].Flags || m.Key != before[subj].Key {
					t.Errorf("%s after undo: %+v, %v; before: %+v", subj, m, err, before[subj])
				}
			}
			if got := layout(t, s); got != want {
				t.Errorf("after %s and undo:\n%s\nwant:\n%s", tt.name, got, want)
			}
			if u, _ := s.ExpungedUIDLs(); len(u) != 0 {
				t.Errorf("ExpungedUIDLs = %v", u)
			}
		})
	}
}

func TestMarkFolderRead(t *testing.T) {
	tests := []struct {
		folder      string
		wantChanged int
		wantErr     error
		wantUnread  map[string]int // folder -> unread after
	}{
		{Inbox, 2, nil, map[string]int{Inbox: 0, "Work": 2}},
		{"", 2, nil, map[string]int{Inbox: 0, "Work": 2}},
		{"Work", 2, nil, map[string]int{Inbox: 2, "Work": 0, "Work.Sub": 1}},
		{"Work.Sub", 1, nil, map[string]int{"Work": 2, "Work.Sub": 0}},
		{"Missing", 0, ErrNoFolder, map[string]int{Inbox: 2}},
		{"../x", 0, errAny, map[string]int{Inbox: 2}},
	}
	for _, tt := range tests {
		t.Run(tt.folder, func(t *testing.T) {
			s := openStore(t)
			keys := deliver(t, s, map[string]string{"a": msg("a", "1"), "b": msg("b", "2"), "c": msg("c", "3"),
				"w1": msg("w1", "1"), "w2": msg("w2", "2"), "w3": msg("w3", "3"), "s1": msg("s1", "1")})
			must(t, s.CreateFolder("Work.Sub"))
			must(t, s.Move(Inbox, "Work", []string{keys["w1"], keys["w2"], keys["w3"]}))
			must(t, s.Move(Inbox, "Work.Sub", []string{keys["s1"]}))
			must(t, s.SetFlags(Inbox, []string{keys["a"]}, FlagSeen, 0))
			must(t, s.SetFlags("Work", []string{keys["w1"]}, FlagSeen, 0))
			must(t, s.SetFlags("Work", []string{keys["w2"]}, FlagFlagged, 0))
			must(t, s.SetFlags("Work.Sub", []string{keys["s1"]}, 0, FlagSeen))
			changed, err := s.MarkFolderRead(tt.folder)
			checkErr(t, fmt.Sprintf("MarkFolderRead(%q)", tt.folder), err, tt.wantErr)
			if changed != tt.wantChanged {
				t.Errorf("MarkFolderRead(%q) changed %d, want %d", tt.folder, changed, tt.wantChanged)
			}
			folders, err := s.Folders()
			must(t, err)
			for _, fi := range folders {
				if want, ok := tt.wantUnread[fi.Name]; ok && fi.Unread != want {
					t.Errorf("after MarkFolderRead(%q): %s has %d unread, want %d", tt.folder, fi.Name, fi.Unread, want)
				}
			}
			if m, _ := s.Summary("Work", keys["w2"]); tt.folder == "Work" && m.Flags != FlagSeen|FlagFlagged {
				t.Errorf("w2 flags = %v, want FS", m.Flags)
			}
			if again, err := s.MarkFolderRead(tt.folder); again != 0 || (err == nil) != (tt.wantErr == nil) {
				t.Errorf("MarkFolderRead(%q) again changed %d, %v", tt.folder, again, err)
			}
		})
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func appendFile(t *testing.T, path, data string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY|os.O_CREATE, 0o600)
	must(t, err)
	_, err = f.WriteString(data)
	must(t, errors.Join(err, f.Close()))
}

// immutable sets the immutable attribute on folder p (chattr +i) until the test ends, so that
// renaming it fails with EPERM, even for root. It skips the test where that cannot be done.
func immutable(t *testing.T, p string) {
	t.Helper()
	set := func(on bool) error {
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		flags, err := unix.IoctlGetUint32(int(f.Fd()), unix.FS_IOC_GETFLAGS)
		if err != nil {
			return err
		}
		if on {
			flags |= fsImmutable
		} else {
			flags &^= fsImmutable
		}
		return unix.IoctlSetPointerInt(int(f.Fd()), unix.FS_IOC_SETFLAGS, int(flags))
	}
	if err := set(true); err != nil {
		t.Skipf("cannot make %s immutable: %v", p, err)
	}
	t.Cleanup(func() { set(false) })
}

// fsImmutable is FS_IMMUTABLE_FL of linux/fs.h, the flag chattr +i sets.
const fsImmutable = 0x10
