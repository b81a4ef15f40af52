//go:build !linux

package storage

import "os"

// readIndexFile reads the index file at path into the heap (mapped is false). Only Linux maps it
// (indexmap_linux.go): Windows cannot replace a file that is mapped into memory, and the index
// file is replaced by a rename while its folder is loaded.
func readIndexFile(path string) (data []byte, mapped bool, err error) {
	data, err = os.ReadFile(path)
	return data, false, err
}

// unmapIndexFile is never called here (readIndexFile maps nothing).
func unmapIndexFile([]byte) {}

// releasePages is never called here (readIndexFile maps nothing).
func releasePages([]byte) {}
