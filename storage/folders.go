package storage

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// RenameFolder renames folder old, and the folders inside it with it: renaming "Work" to "Job"
// makes "Work.Sub" "Job.Sub" (Maildir/.Work.Sub becomes Maildir/.Job.Sub). new must be a valid
// name (ValidFolderName) that no folder has, nor would any folder inside old get a name that one
// has (ErrFolderExists); the folders above new that are missing are made. Inbox and Trash cannot
// be renamed (ErrSpecialFolder), nor can a folder move inside itself; renaming a folder to its own
// name does nothing. Messages keep their keys,
// the index files move with their folders, and the Trash follows the rename (see Restore). When a
// folder of the tree cannot be renamed, those already renamed are renamed back. It holds the
// store lock.
func (s *Store) RenameFolder(old, new string) error {
	if err := ordinaryFolder(old, "renamed"); err != nil {
		return err
	}
	if err := ValidFolderName(new); err != nil {
		return err
	}
	if strings.HasPrefix(new, old+".") {
		return fmt.Errorf("storage: folder %q cannot move inside itself (to %q)", old, new)
	}
	unlock, err := s.lock()
	if err != nil {
		return err
	}
	defer unlock()
	names, err := s.subtree(old)
	if err != nil || old == new {
		return err
	}
	paths := make([][2]string, len(names))
	for i, n := range names {
		t := new + n[len(old):]
		if err := ValidFolderName(t); err != nil {
			return fmt.Errorf("storage: renaming folder %q to %q: %w", old, new, err)
		}
		p, _ := s.folderPath(n)
		tp, _ := s.folderPath(t)
		if _, err := os.Lstat(tp); err == nil {
			return fmt.Errorf("%w: %q", ErrFolderExists, t)
		} else if !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("storage: renaming folder %q: %w", old, err)
		}
		paths[i] = [2]string{p, tp}
	}
	if p := parentFolder(new); p != "" {
		if err := s.makeFolderTree(p); err != nil {
			return err
		}
	}
	// Parents first: a folder renamed is gone from under its old name before its subfolders follow.
	done := 0
	for ; done < len(names); done++ {
		if err = renameNoReplace(paths[done][0], paths[done][1]); err != nil {
			err = fmt.Errorf("storage: renaming folder %q to %q: %w", names[done], new+names[done][len(old):], err)
			break
		}
	}
	if err != nil {
		for ; done > 0; done-- {
			if rerr := renameNoReplace(paths[done-1][1], paths[done-1][0]); rerr != nil {
				err = errors.Join(err, fmt.Errorf("storage: renaming folder %q back: %w", names[done-1], rerr))
				break
			}
		}
	}
	renamed := make([][2]string, done)
	for i, n := range names[:done] {
		renamed[i] = [2]string{n, new + n[len(old):]}
		s.moveIndex(renamed[i][0], renamed[i][1])
	}
	if done > 0 {
		err = errors.Join(err, syncDir(s.maildir), s.recordRenames(renamed))
	}
	return err
}

// moveIndex gives folder new the index file of folder old, just renamed, and forgets both names.
func (s *Store) moveIndex(old, new string) {
	if f := s.forget(old); f != nil {
		f.mu.Lock()
		f.saveIndex()
		f.mu.Unlock()
	}
	s.forget(new)
	// The index stays valid: renaming a folder changes the times of neither its new/ nor its cur/.
	if err := os.Rename(s.indexPath(old), s.indexPath(new)); err != nil {
		os.Remove(s.indexPath(new)) // the index of an earlier folder of that name
	}
}

// DeleteFolder moves every message of folder name, and of the folders inside it, to the Trash
// (recording where each came from, see Restore), and then removes those folders; it returns how
// many messages it moved. The messages are moved, and the moves made durable (the Trash's cur/
// fsynced), before a folder is removed, and a folder is removed only when its new/ and cur/ are
// empty, so a crash or another program delivering meanwhile never loses a message: it is in its
// folder or in the Trash. Inbox and Trash cannot be deleted (ErrSpecialFolder). It holds the
// store lock.
func (s *Store) DeleteFolder(name string) (moved int, err error) {
	if err := ordinaryFolder(name, "deleted"); err != nil {
		return 0, err
	}
	unlock, err := s.lock()
	if err != nil {
		return 0, err
	}
	defer unlock()
	names, err := s.subtree(name)
	if err != nil {
		return 0, err
	}
	trash, err := s.folder(Trash)
	if err != nil {
		return 0, err
	}
	// The folders inside first: a crash leaves no folder without its parent.
	for _, n := range slices.Backward(names) {
		m, err := s.removeFolder(n, trash)
		moved += m
		if err != nil {
			return moved, err
		}
	}
	return moved, syncDir(s.maildir)
}

// removeFolder moves the messages of folder name to the Trash and removes the folder. A message
// put into the folder meanwhile (by another program) makes it try again, a few times. The store
// lock is held.
func (s *Store) removeFolder(name string, trash *folder) (moved int, err error) {
	p, err := s.folderPath(name)
	if err != nil {
		return 0, err
	}
	// The files are listed afresh; the cached folder, if any, is read again at its next use.
	s.forget(name)
	src := &folder{s: s, name: name, path: p}
	for range 3 {
		m, err := s.moveAllToTrash(src, trash)
		moved += m
		if err != nil {
			return moved, err
		}
		err = removeMaildir(p)
		if err == nil {
			os.Remove(s.indexPath(name))
			return moved, nil
		}
		if !errors.Is(err, fs.ErrExist) { // ENOTEMPTY: a message came in
			return moved, fmt.Errorf("storage: removing folder %q: %w", name, err)
		}
	}
	return moved, fmt.Errorf("storage: folder %q keeps receiving messages; it was not removed", name)
}

// moveAllToTrash moves every file of src's new/ and cur/ to the Trash, as they are on disk (also
// files the index skips, e.g. those that fail to parse), after recording where they came from.
func (s *Store) moveAllToTrash(src, trash *folder) (moved int, err error) {
	var files []msgFile
	for _, sub := range []string{"new", "cur"} {
		des, err := os.ReadDir(filepath.Join(src.path, sub))
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return 0, fmt.Errorf("storage: folder %q: %w", src.name, err)
		}
		for _, de := range des {
			if strings.HasPrefix(de.Name(), ".") {
				continue // not a message (Maildir readers skip dot files)
			}
			if de.IsDir() {
				return 0, fmt.Errorf("storage: folder %q: %s/%s is a folder, not a message; the folder was not removed", src.name, sub, de.Name())
			}
			key, _ := parseName(de.Name())
			files = append(files, msgFile{key: key, sub: sub, name: de.Name()})
		}
	}
	if len(files) == 0 {
		return 0, nil
	}
	keys := make([]string, len(files))
	for i, m := range files {
		keys[i] = m.key
	}
	if err := s.recordOrigins(src.name, keys); err != nil {
		return 0, err
	}
	return moveFiles(src, trash, files)
}

// removeMaildir removes the Maildir folder p, whose messages were moved out. new/ and cur/ go
// first, each with rmdir(2) after its dot files: that fails (ENOTEMPTY) when a message was put in
// since, and then no message can be put in. What is left (tmp/, the maildirfolder mark, other
// programs' files) goes last.
func removeMaildir(p string) error {
	for _, sub := range []string{"new", "cur"} {
		d := filepath.Join(p, sub)
		des, err := os.ReadDir(d)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return err
		}
		for _, de := range des {
			if strings.HasPrefix(de.Name(), ".") {
				os.RemoveAll(filepath.Join(d, de.Name()))
			}
		}
		if err := rmdir(d); err != nil {
			return &os.PathError{Op: "rmdir", Path: d, Err: err}
		}
	}
	return os.RemoveAll(p)
}

// subtree returns folder name and the folders inside it, each before the folders inside it, or
// ErrNoFolder when name is not a folder.
func (s *Store) subtree(name string) ([]string, error) {
	all, err := s.folderNames()
	if err != nil {
		return nil, err
	}
	var out []string
	for _, n := range all {
		if n == name || strings.HasPrefix(n, name+".") {
			out = append(out, n)
		}
	}
	slices.SortFunc(out, compareFolders)
	if len(out) == 0 || out[0] != name {
		return nil, fmt.Errorf("%w: %q", ErrNoFolder, name)
	}
	return out, nil
}

// ordinaryFolder reports why folder name cannot be renamed or deleted (the verb), or nil.
func ordinaryFolder(name, verb string) error {
	if name == "" {
		name = Inbox
	}
	if name == Inbox || name == Trash {
		return fmt.Errorf("%w %q cannot be %s", ErrSpecialFolder, name, verb)
	}
	return ValidFolderName(name)
}
