package storage

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// SetFlags adds and removes flags on messages of a folder (e.g. add FlagSeen to mark read). The
// message moves to cur/ with the new Maildir info, as every Maildir reader expects.
func (s *Store) SetFlags(folderName string, keys []string, add, remove Flags) error {
	f, err := s.folder(folderName)
	if err != nil {
		return err
	}
	unlock, err := s.lock()
	if err != nil {
		return err
	}
	defer unlock()
	var errs []error
	for _, k := range keys {
		e, ok := f.lookup(k)
		if !ok {
			errs = append(errs, fmt.Errorf("%w: %s/%s", ErrNotFound, folderName, k))
			continue
		}
		flags := (e.sum.Flags | add) &^ remove
		dst := fileName(k, flags)
		if e.sub == "cur" && e.name == dst {
			continue
		}
		if err := os.Rename(filepath.Join(f.path, e.sub, e.name), filepath.Join(f.path, "cur", dst)); err != nil {
			errs = append(errs, fmt.Errorf("storage: setting flags: %w", err))
		}
	}
	return errors.Join(errs...)
}

// Move moves messages between folders. It is not a deletion: the ledger is not told.
func (s *Store) Move(from, to string, keys []string) error {
	if from == to {
		return nil
	}
	src, err := s.folder(from)
	if err != nil {
		return err
	}
	dst, err := s.folder(to)
	if err != nil {
		return err
	}
	unlock, err := s.lock()
	if err != nil {
		return err
	}
	defer unlock()
	var errs []error
	for _, k := range keys {
		e, ok := src.lookup(k)
		if !ok {
			errs = append(errs, fmt.Errorf("%w: %s/%s", ErrNotFound, from, k))
			continue
		}
		name := e.name
		if e.sub == "new" {
			name = fileName(k, 0)
		}
		if err := os.Rename(filepath.Join(src.path, e.sub, e.name), filepath.Join(dst.path, "cur", name)); err != nil {
			errs = append(errs, fmt.Errorf("storage: moving %s: %w", k, err))
		}
	}
	if err := syncDir(filepath.Join(dst.path, "cur")); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// Delete moves messages to the Trash; in the Trash it deletes them for good (Expunge).
func (s *Store) Delete(folderName string, keys []string) error {
	if folderName == Trash {
		return s.Expunge(Trash, keys)
	}
	return s.Move(folderName, Trash, keys)
}

// Restore moves messages from the Trash back to the Inbox.
func (s *Store) Restore(keys []string) error { return s.Move(Trash, Inbox, keys) }

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
	f, err := s.folder(folderName)
	if err != nil {
		return err
	}
	unlock, err := s.lock()
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
		if err := os.Remove(filepath.Join(f.path, e.sub, e.name)); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, fmt.Errorf("storage: deleting %s: %w", k, err))
			continue
		}
		if e.sum.UIDL != "" {
			gone[e.sum.UIDL] = true
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
