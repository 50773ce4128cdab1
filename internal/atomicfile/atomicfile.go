// Package atomicfile writes files that readers never see half-written and
// prunes the old generations of a cache directory: the matcher's model, the
// article index and the embedding caches, the help-center import's state.
package atomicfile

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// Write replaces path with data: a temporary file in the same directory
// (created with the directory, 0700, when missing; named "."+base+"*.tmp",
// so no glob of the real files matches it) is written, synced, given perm
// and renamed over path. Concurrent writers each use their own temporary
// file; the last rename wins.
func Write(path string, data []byte, perm os.FileMode) (err error) {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+"*.tmp")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			_ = os.Remove(tmp)
		}
	}()
	_, err = f.Write(data)
	if err == nil {
		err = f.Chmod(perm)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// Prune removes the files of dir named prefix*suffix beyond keep and the
// newest n-1 others (by modification time): a cache rewritten often must not
// fill the disk, while switching between a few versions stays fast. Errors
// are ignored: a leftover file only costs disk space.
func Prune(dir, prefix, suffix, keep string, n int) {
	des, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	type file struct {
		path string
		mod  time.Time
	}
	var files []file
	for _, de := range des {
		name := de.Name()
		if de.IsDir() || !strings.HasPrefix(name, prefix) || !strings.HasSuffix(name, suffix) {
			continue
		}
		info, err := de.Info()
		if err != nil {
			continue
		}
		files = append(files, file{filepath.Join(dir, name), info.ModTime()})
	}
	slices.SortFunc(files, func(a, b file) int { return b.mod.Compare(a.mod) })
	others := 0
	for _, f := range files {
		if f.path == keep {
			continue
		}
		if others++; others >= n {
			_ = os.Remove(f.path)
		}
	}
}
