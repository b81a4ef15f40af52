package mmapfile

import (
	"fmt"
	"os"
	"unsafe"

	"golang.org/x/sys/windows"
)

// Map maps the first size bytes of f read-only into memory (CreateFileMapping, MapViewOfFile);
// Unmap releases them.
func Map(f *os.File, size int64) ([]byte, error) {
	m, err := windows.CreateFileMapping(windows.Handle(f.Fd()), nil, windows.PAGE_READONLY, uint32(size>>32), uint32(size), nil)
	if err != nil {
		return nil, fmt.Errorf("CreateFileMapping: %w", err)
	}
	defer windows.CloseHandle(m) // the view keeps the mapping alive
	addr, err := windows.MapViewOfFile(m, windows.FILE_MAP_READ, 0, 0, uintptr(size))
	if err != nil {
		return nil, fmt.Errorf("MapViewOfFile: %w", err)
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(addr)), size), nil
}

// Unmap releases a mapping made by Map.
func Unmap(b []byte) { windows.UnmapViewOfFile(uintptr(unsafe.Pointer(&b[0]))) }

// Release takes the pages of a mapping made by Map out of the process's working set:
// VirtualUnlock of pages that are not locked does that (and reports ERROR_NOT_LOCKED); they are
// read again from the file cache when next used.
func Release(b []byte) { windows.VirtualUnlock(uintptr(unsafe.Pointer(&b[0])), uintptr(len(b))) }
