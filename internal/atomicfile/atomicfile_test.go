package atomicfile_test

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/supportbot/supportbot/internal/atomicfile"
)

func TestWrite(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "new", "dir")
	path := filepath.Join(dir, "c-1.bin")
	for _, data := range []string{"first", "second"} {
		if err := atomicfile.Write(path, []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
		if got, err := os.ReadFile(path); err != nil || string(got) != data {
			t.Fatalf("read %q, %v; want %q", got, err, data)
		}
	}
	info, err := os.Stat(path)
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v, %v; want 0600", info.Mode(), err)
	}
	if des, _ := os.ReadDir(dir); len(des) != 1 {
		t.Fatalf("%d files in the directory, want only the file (no temporary left)", len(des))
	}
	// A directory in the way: the error is returned and no temporary stays.
	if err := atomicfile.Write(dir, []byte("x"), 0o600); err == nil {
		t.Fatal("Write over a directory = nil, want an error")
	}
	if des, _ := os.ReadDir(filepath.Dir(dir)); len(des) != 1 {
		t.Fatalf("a failed write left %d entries, want 1", len(des))
	}
}

func TestPrune(t *testing.T) {
	dir := t.TempDir()
	now := time.Now()
	var names []string
	for i, n := range []string{"c-a.bin", "c-b.bin", "c-c.bin", "c-d.bin", "other.bin", "c-e.txt"} {
		p := filepath.Join(dir, n)
		if err := os.WriteFile(p, nil, 0o600); err != nil {
			t.Fatal(err)
		}
		// c-a is the oldest.
		if err := os.Chtimes(p, now, now.Add(time.Duration(i)*time.Minute)); err != nil {
			t.Fatal(err)
		}
		names = append(names, n)
	}
	atomicfile.Prune(dir, "c-", ".bin", filepath.Join(dir, "c-a.bin"), 3)
	des, _ := os.ReadDir(dir)
	var left []string
	for _, de := range des {
		left = append(left, de.Name())
	}
	// Kept: c-a (named), the two newest others (c-d, c-c), and files that
	// do not match.
	if want := []string{"c-a.bin", "c-c.bin", "c-d.bin", "c-e.txt", "other.bin"}; !slices.Equal(left, want) {
		t.Fatalf("left %v, want %v (from %v)", left, want, names)
	}
}
