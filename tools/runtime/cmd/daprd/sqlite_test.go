package main

import (
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
)

// TestWALModeSurvivesRacingOpeners has several openers switch new databases
// to WAL mode at once, as the sidecars of several instances of one app do.
// Each must succeed: the losers of the race wait instead of failing.
func TestWALModeSurvivesRacingOpeners(t *testing.T) {
	dir := t.TempDir()
	for i := range 30 {
		path := filepath.Join(dir, fmt.Sprintf("race-%d.db", i))
		var wg sync.WaitGroup
		errs := make([]error, 3)
		for j := range errs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs[j] = walMode(path)
			}()
		}
		wg.Wait()
		for j, err := range errs {
			if err != nil {
				t.Fatalf("database %d, opener %d: %v", i, j, err)
			}
		}
	}
}

func TestSQLiteFilesAreTheWALStoresOfTheResourcesPaths(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("a.yaml", "spec:\n  type: state.sqlite\n  metadata:\n    - name: connectionString\n"+
		"      value: \"file:.data/a.db?_pragma=synchronous(NORMAL)\"\n")
	write("b.yaml", "spec:\n  type: state.sqlite\n  metadata:\n    - name: connectionString\n"+
		"      value: \"file:b.db\"\n    - name: disableWAL\n      value: \"true\"\n")
	write("c.yaml", "spec:\n  type: state.redis\n  metadata:\n    - name: redisHost\n      value: x\n")

	got := sqliteFiles([]string{"--app-id", "x", "--resources-path", dir})
	if len(got) != 1 || got[0] != ".data/a.db" {
		t.Fatalf("sqliteFiles = %v, want [.data/a.db]", got)
	}
	if got := sqliteFiles([]string{"--resources-path=" + dir}); len(got) != 1 {
		t.Fatalf("with --flag=value: %v", got)
	}
}
