// Package cli holds what tapd, tapctl and the kiosk share for reading their
// settings: flags first, then environment variables, then a config file.
package cli

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"
)

// EnvName is the environment variable for a flag: prefix, upper case,
// dashes as underscores (db → TAPD_DB, tls-cert → TAPD_TLS_CERT).
func EnvName(prefix, flagName string) string {
	return prefix + "_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// Parse parses args into fs, allowing flags after positional arguments
// ("tap create ada@example.com --once"), and returns the positional ones.
// Flags not given on the command line are then taken from the environment
// (EnvName(envPrefix, name)) and, failing that, from the config file named by
// the flag "config" if fs has one. An empty envPrefix reads no environment. The file holds "name = value" lines;
// blank lines and lines starting with # are skipped.
func Parse(fs *flag.FlagSet, args []string, envPrefix string) ([]string, error) {
	pos, _, err := ParseSources(fs, args, envPrefix)
	return pos, err
}

// Sources says where each setting's value came from: "flag --db",
// "environment TAPD_DB", "file /etc/tapkiosk/tapd.conf:8"; a setting not
// in it has its default. A program logs it beside a setting whose origin
// an operator may not guess (which database is in use, and why).
type Sources map[string]string

// Of is where the setting name came from, or "default".
func (s Sources) Of(name string) string {
	if src, ok := s[name]; ok {
		return src
	}
	return "default"
}

// ParseSources is Parse that also says where each value came from.
func ParseSources(fs *flag.FlagSet, args []string, envPrefix string) ([]string, Sources, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, nil, err
		}
		if fs.NArg() == 0 {
			break
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
	set := map[string]bool{}
	src := Sources{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true; src[f.Name] = "flag --" + f.Name })
	var errs []error
	fs.VisitAll(func(f *flag.Flag) {
		if set[f.Name] || envPrefix == "" {
			return
		}
		if v, ok := os.LookupEnv(EnvName(envPrefix, f.Name)); ok {
			if err := fs.Set(f.Name, v); err != nil {
				errs = append(errs, fmt.Errorf("%s: %v", EnvName(envPrefix, f.Name), err))
			}
			set[f.Name] = true
			src[f.Name] = "environment " + EnvName(envPrefix, f.Name)
		}
	})
	if cf := fs.Lookup("config"); cf != nil && cf.Value.String() != "" {
		if err := applyFile(fs, cf.Value.String(), set, src); err != nil {
			errs = append(errs, err)
		}
	}
	return pos, src, errors.Join(errs...)
}

func applyFile(fs *flag.FlagSet, path string, set map[string]bool, src Sources) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("config file: %w", err)
	}
	defer f.Close()
	var errs []error
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			errs = append(errs, fmt.Errorf("%s:%d: expected name = value", path, n))
			continue
		}
		k, v = strings.TrimSpace(k), strings.Trim(strings.TrimSpace(v), `"`)
		if fs.Lookup(k) == nil || k == "config" {
			errs = append(errs, fmt.Errorf("%s:%d: unknown setting %q", path, n, k))
			continue
		}
		if set[k] {
			continue
		}
		if err := fs.Set(k, v); err != nil {
			errs = append(errs, fmt.Errorf("%s:%d: %s: %v", path, n, k, err))
		}
		src[k] = fmt.Sprintf("file %s:%d", path, n)
	}
	if err := sc.Err(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}
