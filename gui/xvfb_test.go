package gui

import (
	"bufio"
	"context"
	"image"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestDemoUnderXvfb builds poplar, starts `poplar --demo` on the display .ci/session provides (Xvfb),
// waits for the fetch to finish and the list to show the messages, clicks a message and uses the
// keyboard (j, Delete) as a user would, takes a screenshot and checks that it is not blank. Without a display it is skipped, except under CI=true, where it fails.
func TestDemoUnderXvfb(t *testing.T) {
	requireXvfb(t)
	dir := t.TempDir()
	bin := filepath.Join(dir, "poplar") // the command line, which hands --demo over to poplar-gui beside it
	for _, b := range [][2]string{{bin, ".."}, {filepath.Join(dir, "poplar-gui"), "./cmd/poplar-gui"}} {
		if out, err := exec.Command("go", "build", "-o", b[0], b[1]).CombinedOutput(); err != nil {
			t.Fatalf("building %s: %v\n%s", b[1], err, out)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "--demo")
	cmd.Env = append(os.Environ(), "XDG_CONFIG_HOME="+filepath.Join(dir, "config"), "XDG_DATA_HOME="+filepath.Join(dir, "data"))
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		cmd.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
		}
	}()
	lines := make(chan string, 1024)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	var log strings.Builder
	// expect waits for a log line containing want (and fails on a failed fetch).
	expect := func(want string) string {
		t.Helper()
		deadline := time.After(60 * time.Second)
		for {
			select {
			case line, ok := <-lines:
				if !ok {
					t.Fatalf("poplar exited before %q:\n%s", want, log.String())
				}
				log.WriteString(line + "\n")
				if strings.Contains(line, "fetch of demo failed") {
					t.Fatalf("the demo fetch failed:\n%s", log.String())
				}
				if strings.Contains(line, want) {
					return line
				}
			case <-deadline:
				t.Fatalf("no %q within a minute:\n%s", want, log.String())
			}
		}
	}
	expect("fetch of demo finished: 200 new")
	expect("the list shows 200 messages in demo/Inbox") // inserted as they arrived
	// Real-window keyboard focus: a click on a row opens it and gives the list the keyboard, so
	// j opens the next message and Delete moves it to the Trash.
	xdo := func(args ...string) {
		t.Helper()
		if out, err := exec.Command("xdotool", args...).CombinedOutput(); err != nil {
			t.Fatalf("xdotool %v: %v\n%s", args, err, out)
		}
	}
	time.Sleep(time.Second) // let the frame render
	xdo("mousemove", "400", "330", "click", "1")
	first := expect(`reading "`)
	xdo("key", "j")
	if second := expect(`reading "`); second == first {
		t.Fatalf("j did not move to the next message: %s", second)
	}
	xdo("key", "Delete")
	expect("status: Moved 1 message to the Trash")
	time.Sleep(time.Second) // let the frame render
	img := screenshot(t, filepath.Join(dir, "shot.png"))
	if n := distinctColors(img, 64); n < 16 {
		t.Fatalf("the screenshot has %d colours: the window looks blank", n)
	}
}

// distinctColors counts the colours of img (sampled), up to limit.
func distinctColors(img image.Image, limit int) int {
	seen := map[[3]uint32]bool{}
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y += 3 {
		for x := b.Min.X; x < b.Max.X; x += 3 {
			r, g, bl, _ := img.At(x, y).RGBA()
			seen[[3]uint32{r >> 8, g >> 8, bl >> 8}] = true
			if len(seen) >= limit {
				return len(seen)
			}
		}
	}
	return len(seen)
}
