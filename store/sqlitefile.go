package store

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
)

// privateSQLiteFile makes the SQLite file at path private to tapd's user
// before SQLite opens it: a new file is created empty with mode 0600 (SQLite
// gives its -wal and -shm files the mode of the database file), and an
// existing file, -wal or -shm that the group or others may read is tightened
// to 0600. The folder itself is made by Open with mode 0700.
func privateSQLiteFile(path string) error {
	if path == ":memory:" {
		return nil
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err == nil {
		return f.Close()
	}
	if !errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("create database file: %w", err)
	}
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		fi, err := os.Stat(p)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return fmt.Errorf("database file: %w", err)
		}
		if fi.Mode().IsRegular() && fi.Mode().Perm()&0o077 != 0 {
			if err := os.Chmod(p, fi.Mode().Perm()&0o700); err != nil {
				return fmt.Errorf("%s can be read by others (mode %04o) and could not be made private: %w", p, fi.Mode().Perm(), err)
			}
		}
	}
	return nil
}
