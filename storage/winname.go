package storage

import (
	"fmt"
	"strings"
)

// WindowsNameError returns an error naming what is wrong when name cannot be a file or folder
// name on Windows: it holds one of < > : " / \ | ? * or a control character, ends in a dot or a
// space, or is a device name (CON, PRN, AUX, NUL, COM1-9, LPT1-9, with or without an extension).
// Folder and account names become folder names on disk, so on Windows they are checked with it.
func WindowsNameError(name string) error {
	if name == "" {
		return fmt.Errorf("storage: an empty name cannot be a file name")
	}
	for _, r := range name {
		if r < 0x20 || strings.ContainsRune(`<>:"/\|?*`, r) {
			return fmt.Errorf("storage: name %q has %q, which Windows does not allow in file names", name, r)
		}
	}
	if strings.HasSuffix(name, ".") || strings.HasSuffix(name, " ") {
		return fmt.Errorf("storage: name %q ends in a dot or a space, which Windows drops from file names", name)
	}
	base, _, _ := strings.Cut(name, ".")
	switch b := strings.ToUpper(strings.TrimRight(base, " ")); {
	case b == "CON" || b == "PRN" || b == "AUX" || b == "NUL",
		len(b) == 4 && (strings.HasPrefix(b, "COM") || strings.HasPrefix(b, "LPT")) && b[3] >= '1' && b[3] <= '9':
		return fmt.Errorf("storage: name %q is a device name on Windows (%s)", name, b)
	}
	return nil
}
