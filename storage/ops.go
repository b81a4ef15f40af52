package storage

import (
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
)

// SetFlags adds and removes flags on messages of a folder (e.g. add FlagSeen to mark read). The
// message moves to cur/ with the new Maildir info, as every Maildir reader expects.
func (s *Store) SetFlags(folderName string, keys []string, add, remove Flags) error {
	f, unlock, err := s.lockFolder(folderName)
	if err != nil {
		return err
	}
	defer unlock()
	_, err = f.setFlags(keys, add, remove)
	return err
}

// lockFolder returns folder name, refreshed from disk, and takes the store lock; call unlock
// when done.
func (s *Store) lockFolder(name string) (f *folder, unlock func(), err error) {
	if f, err = s.folder(name); err != nil {
		return nil, nil, err
	}
	if unlock, err = s.lock(); err != nil {
		return nil, nil, err
	}
	return f, unlock, nil
}

// MarkFolderRead marks every unread message of folder name read (adds FlagSeen), as SetFlags
// does, and returns how many it changed. The folders inside it are left as they are. It returns
// ErrNoFolder when there is no such folder.
func (s *Store) MarkFolderRead(name string) (changed int, err error) {
	f, unlock, err := s.lockFolder(name)
	if err != nil {
		return 0, err
	}
	defer unlock()
	var keys []string
	f.mu.Lock()
	for _, e := range f.sorted {
		if e.flags&FlagSeen == 0 {
			keys = append(keys, e.key())
		}
	}
	f.mu.Unlock()
	return f.setFlags(keys, FlagSeen, 0)
}

// setFlags gives the messages keys of f their new flags and returns how many files it renamed.
// The store lock is held.
func (f *folder) setFlags(keys []string, add, remove Flags) (changed int, err error) {
	var errs []error
	for _, k := range keys {
		e, ok := f.lookup(k)
		if !ok {
			errs = append(errs, fmt.Errorf("%w: %s/%s", ErrNotFound, f.name, k))
			continue
		}
		flags := (e.flags | add) &^ remove
		dst := fileName(k, flags)
		if e.cur && e.name == dst {
			continue
		}
		if err := os.Rename(filepath.Join(f.path, e.subdir(), e.name), filepath.Join(f.path, "cur", dst)); err != nil {
			errs = append(errs, fmt.Errorf("storage: setting flags in %q: %w", f.name, err))
			continue
		}
		changed++
	}
	if changed > 0 {
		f.invalidate()
	}
	return changed, errors.Join(errs...)
}

// Move moves messages between folders; a message keeps its key and flags, so moving it back
// (Move(to, from, keys)) undoes a Move, and undoes a Delete from the Trash. Moving to the Trash
// records the folder each message came from first (see Restore). A move is not a deletion: the
// ledger is not told.
func (s *Store) Move(from, to string, keys []string) error {
	src, err := s.folder(from)
	if err != nil {
		return err
	}
	dst, err := s.folder(to)
	if err != nil {
		return err
	}
	if src == dst {
		return nil
	}
	unlock, err := s.lock()
	if err != nil {
		return err
	}
	defer unlock()
	if dst.name == Trash {
		if err := s.recordOrigins(src.name, keys); err != nil {
			return err
		}
	}
	_, err = s.move(src, dst, keys)
	return err
}

// move moves the messages keys from src to dst. The store lock is held.
func (s *Store) move(src, dst *folder, keys []string) (moved int, err error) {
	var errs []error
	files := make([]msgFile, 0, len(keys))
	for _, k := range keys {
		e, ok := src.lookup(k)
		if !ok {
			errs = append(errs, fmt.Errorf("%w: %s/%s", ErrNotFound, src.name, k))
			continue
		}
		files = append(files, msgFile{key: k, sub: e.subdir(), name: e.name})
	}
	moved, err = moveFiles(src, dst, files)
	return moved, errors.Join(append(errs, err)...)
}

// msgFile is a message file in a folder's new/ or cur/.
type msgFile struct{ key, sub, name string }

// moveFiles renames files of src into dst's cur/ (a file from new/ gets an empty info part) and
// fsyncs dst's cur/, so the moves are durable when it returns. It never replaces a file of the same
// name in dst: that message stays in src and is reported. The store lock is held.
func moveFiles(src, dst *folder, files []msgFile) (moved int, err error) {
	var errs []error
	for _, m := range files {
		name := m.name
		if m.sub == "new" {
			name = fileName(m.key, 0)
		}
		if err := renameNoReplace(filepath.Join(src.path, m.sub, m.name), filepath.Join(dst.path, "cur", name)); err != nil {
			errs = append(errs, fmt.Errorf("storage: moving %s from %q to %q: %w", m.key, src.name, dst.name, err))
			continue
		}
		moved++
	}
	if moved > 0 {
		if err := syncDir(filepath.Join(dst.path, "cur")); err != nil {
			errs = append(errs, err)
		}
		src.invalidate()
		dst.invalidate()
	}
	return moved, errors.Join(errs...)
}

// Delete moves messages to the Trash, as Move does; in the Trash it deletes them for good
// (Expunge).
func (s *Store) Delete(folderName string, keys []string) error {
	if folderName == Trash {
		return s.Expunge(Trash, keys)
	}
	return s.Move(folderName, Trash, keys)
}

// Restore moves messages from the Trash back to the folders they were moved to the Trash from (by
// Delete, Move or DeleteFolder), or to the Inbox where that is not known (the record of it was
// lost) or that folder no longer exists. A folder renamed since is followed to its new name.
func (s *Store) Restore(keys []string) error {
	trash, unlock, err := s.lockFolder(Trash)
	if err != nil {
		return err
	}
	defer unlock()
	origins := s.readOrigins()
	byFolder := map[string][]string{}
	for _, k := range keys {
		byFolder[origins[k]] = append(byFolder[origins[k]], k)
	}
	var errs []error
	for _, name := range slices.Sorted(maps.Keys(byFolder)) {
		dst, err := s.folder(name)
		if name == "" || name == Trash || err != nil {
			// Unknown, gone, or (a damaged record) not a folder name at all.
			if dst, err = s.folder(Inbox); err != nil {
				return err
			}
		}
		if _, err := s.move(trash, dst, byFolder[name]); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// EmptyTrash deletes every message in the Trash for good.
func (s *Store) EmptyTrash() error {
	sums, err := s.Summaries(Trash)
	if err != nil {
		return err
	}
	keys := make([]string, len(sums))
	for i, m := range sums {
		keys[i] = m.Key
	}
	return s.Expunge(Trash, keys)
}

// Expunge deletes messages of a folder for good. When the last local copy of a fetched message
// goes, the ledger records it (see ExpungedUIDLs).
func (s *Store) Expunge(folderName string, keys []string) error {
	f, unlock, err := s.lockFolder(folderName)
	if err != nil {
		return err
	}
	var errs []error
	gone := map[string]bool{}
	for _, k := range keys {
		e, ok := f.lookup(k)
		if !ok {
			continue // already gone
		}
		if err := os.Remove(filepath.Join(f.path, e.subdir(), e.name)); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, fmt.Errorf("storage: deleting %s: %w", k, err))
			continue
		}
		if e.uidl != "" {
			gone[e.uidl] = true
		}
	}
	for _, sub := range []string{"new", "cur"} {
		if err := syncDir(filepath.Join(f.path, sub)); err != nil {
			errs = append(errs, err)
		}
	}
	unlock()
	if len(gone) > 0 {
		// A UIDL still present in some folder (a copy) is not expunged.
		folders, err := s.Folders()
		if err != nil {
			return errors.Join(append(errs, err)...)
		}
		for _, fi := range folders {
			sums, err := s.Summaries(fi.Name)
			if err != nil {
				return errors.Join(append(errs, err)...)
			}
			for _, m := range sums {
				delete(gone, m.UIDL)
			}
		}
		var recs []string
		for u := range gone {
			recs = append(recs, "X "+escapeUIDL(u))
		}
		if err := s.ledger.appendRecords(recs); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
