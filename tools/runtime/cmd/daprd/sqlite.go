package main

import (
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// prepareSQLite switches every SQLite database that a state.sqlite component
// under the resources paths of args names to WAL mode before the runtime
// opens it, retrying while another process holds the lock.
//
// Several instances of one app share their SQLite store. When two sidecars
// open a new database at once, the one whose switch to WAL mode loses the
// race gets SQLITE_BUSY at once, whatever the busy timeout, and the runtime
// exits. Once a database is in WAL mode, which it keeps, switching again is
// free and never refused.
func prepareSQLite(args []string) error {
	for _, path := range sqliteFiles(args) {
		if err := walMode(path); err != nil {
			return fmt.Errorf("prepare sqlite database %s: %w", path, err)
		}
	}
	return nil
}

// sqliteFiles lists the database files of the state.sqlite components in
// the resources paths of args that keep WAL mode on.
func sqliteFiles(args []string) []string {
	var out []string
	for _, dir := range flagValues(args, "--resources-path") {
		files, _ := filepath.Glob(filepath.Join(dir, "*.yaml"))
		for _, f := range files {
			raw, err := os.ReadFile(f)
			if err != nil {
				continue
			}
			var c struct {
				Spec struct {
					Type     string `yaml:"type"`
					Metadata []struct {
						Name  string `yaml:"name"`
						Value string `yaml:"value"`
					} `yaml:"metadata"`
				} `yaml:"spec"`
			}
			if yaml.Unmarshal(raw, &c) != nil || c.Spec.Type != "state.sqlite" {
				continue
			}
			var conn string
			wal := true
			for _, m := range c.Spec.Metadata {
				switch m.Name {
				case "connectionString":
					conn = m.Value
				case "disableWAL":
					wal = m.Value != "true"
				}
			}
			path, _, _ := strings.Cut(strings.TrimPrefix(conn, "file:"), "?")
			if wal && path != "" && path != ":memory:" {
				out = append(out, path)
			}
		}
	}
	return out
}

// walMode sets WAL mode on the database at path, creating it if need be.
func walMode(path string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return err
	}
	var err error
	for range 200 {
		if err = trySetWAL(path); err == nil {
			return nil
		}
		var se *sqlite.Error
		if !errors.As(err, &se) || se.Code()&0xff != sqlite3.SQLITE_BUSY {
			return err
		}
		time.Sleep(50 * time.Millisecond)
	}
	return err
}

func trySetWAL(path string) error {
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		return err
	}
	defer db.Close()
	_, err = db.Exec("PRAGMA journal_mode=WAL")
	return err
}

// flagValues returns the values given to flag in args, in either of the
// forms "--flag value" and "--flag=value".
func flagValues(args []string, flag string) []string {
	var out []string
	for i, a := range args {
		switch {
		case a == flag && i+1 < len(args):
			out = append(out, args[i+1])
		case strings.HasPrefix(a, flag+"="):
			out = append(out, strings.TrimPrefix(a, flag+"="))
		}
	}
	return out
}
