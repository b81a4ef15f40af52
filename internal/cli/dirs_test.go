package cli

import (
	"path/filepath"
	"strings"
	"testing"
)

func TestResolveDirs(t *testing.T) {
	tests := []struct {
		name, goos   string
		env          map[string]string
		config, data string
		err          string // a substring of the error, "" for none
	}{
		{"xdg", "linux", map[string]string{"HOME": "/h", "XDG_CONFIG_HOME": "/c", "XDG_DATA_HOME": "/d"},
			filepath.Join("/c", "poplar"), filepath.Join("/d", "poplar"), ""},
		{"home", "linux", map[string]string{"HOME": "/h"},
			filepath.Join("/h", ".config", "poplar"), filepath.Join("/h", ".local", "share", "poplar"), ""},
		{"windows", "windows", map[string]string{"APPDATA": `C:\Users\u\AppData\Roaming`, "LOCALAPPDATA": `C:\Users\u\AppData\Local`, "HOME": "/h"},
			filepath.Join(`C:\Users\u\AppData\Roaming`, "poplar"), filepath.Join(`C:\Users\u\AppData\Local`, "poplar"), ""},
		{"windows env wins", "windows", map[string]string{"POPLAR_CONFIG_DIR": "X", "POPLAR_DATA_DIR": "Y"}, "X", "Y", ""},
		{"windows without LOCALAPPDATA", "windows", map[string]string{"APPDATA": "A"}, "", "", "%LOCALAPPDATA%"},
		{"windows without APPDATA", "windows", map[string]string{"LOCALAPPDATA": "L"}, "", "", "%APPDATA%"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var g Globals
			err := g.resolveOn(tc.goos, func(k string) string { return tc.env[k] })
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("resolveOn(%s) = %v, want an error naming %s", tc.goos, err, tc.err)
				}
				return
			}
			if err != nil || g.ConfigDir != tc.config || g.DataDir != tc.data {
				t.Errorf("resolveOn(%s) = %q, %q, %v; want %q, %q", tc.goos, g.ConfigDir, g.DataDir, err, tc.config, tc.data)
			}
		})
	}
}
