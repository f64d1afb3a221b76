package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// sample is one measured run of a command under GNU time.
type sample struct {
	Wall time.Duration
	// RSSKB is GNU time's "Maximum resident set size" of the command: for
	// tofu, the largest of tofu and every child it waited for (the kernel
	// reports max(self, children) for wait4), so it covers the provider too.
	RSSKB int64
	// CPU is user + system time of the command and its waited-for children.
	CPU time.Duration
	// ProviderRSSKB is the largest peak RSS of the provider processes the
	// command started (measured by the wrapper script, one file per
	// process); ProviderRuns is how many there were. Zero for grype.
	ProviderRSSKB int64
	ProviderRuns  int
	Stdout        string // path of the captured standard output
}

// timeFile holds what GNU time -v reports.
type timeFile struct {
	RSSKB int64
	CPU   time.Duration
}

func parseTimeFile(path string) (timeFile, error) {
	f, err := os.Open(path)
	if err != nil {
		return timeFile{}, err
	}
	defer f.Close()
	var out timeFile
	found := false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		key, val, ok := strings.Cut(line, ": ")
		if !ok {
			continue
		}
		switch key {
		case "Maximum resident set size (kbytes)":
			n, err := strconv.ParseInt(strings.TrimSpace(val), 10, 64)
			if err != nil {
				return out, fmt.Errorf("%s: %q: %w", path, line, err)
			}
			out.RSSKB, found = n, true
		case "User time (seconds)", "System time (seconds)":
			s, err := strconv.ParseFloat(strings.TrimSpace(val), 64)
			if err == nil {
				out.CPU += time.Duration(s * float64(time.Second))
			}
		}
	}
	if err := sc.Err(); err != nil {
		return out, err
	}
	if !found {
		return out, fmt.Errorf("%s: no maximum resident set size reported", path)
	}
	return out, nil
}

// runner runs commands with a fixed environment, keeping their output
// under dir for inspection.
type runner struct {
	dir    string   // where outputs and time reports go
	rssDir string   // where the provider wrapper writes its time reports
	env    []string // the environment of every command
	seq    int
}

// run executes argv in dir (under /usr/bin/time -v when timed), failing
// with the tail of its standard error when it exits non-zero.
func (r *runner) run(ctx context.Context, label, dir string, timed bool, argv ...string) (sample, error) {
	r.seq++
	base := filepath.Join(r.dir, fmt.Sprintf("%02d-%s", r.seq, label))
	stdout, stderr, timeOut := base+".out", base+".err", base+".time"
	if r.rssDir != "" {
		if err := os.RemoveAll(r.rssDir); err != nil {
			return sample{}, err
		}
		if err := os.MkdirAll(r.rssDir, 0o755); err != nil {
			return sample{}, err
		}
	}
	full := argv
	if timed {
		full = append([]string{"/usr/bin/time", "-v", "-o", timeOut, "--"}, argv...)
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, full[0], full[1:]...)
	cmd.Dir = dir
	cmd.Env = r.env
	outF, err := os.Create(stdout)
	if err != nil {
		return sample{}, err
	}
	defer outF.Close()
	errF, err := os.Create(stderr)
	if err != nil {
		return sample{}, err
	}
	defer errF.Close()
	cmd.Stdout, cmd.Stderr = outF, errF
	start := time.Now()
	err = cmd.Run()
	wall := time.Since(start)
	if err != nil {
		tail, _ := os.ReadFile(stderr)
		if len(tail) > 4000 {
			tail = tail[len(tail)-4000:]
		}
		out, _ := os.ReadFile(stdout)
		if len(out) > 4000 {
			out = out[len(out)-4000:]
		}
		return sample{}, fmt.Errorf("%s: %s: %w\nstdout (tail):\n%s\nstderr (tail):\n%s", label, strings.Join(argv, " "), err, out, tail)
	}
	s := sample{Wall: wall, Stdout: stdout}
	if timed {
		tf, err := parseTimeFile(timeOut)
		if err != nil {
			return s, err
		}
		s.RSSKB, s.CPU = tf.RSSKB, tf.CPU
	}
	if r.rssDir != "" {
		files, _ := filepath.Glob(filepath.Join(r.rssDir, "provider.*"))
		for _, f := range files {
			tf, err := parseTimeFile(f)
			if err != nil {
				return s, fmt.Errorf("the provider's time report: %w", err)
			}
			s.ProviderRuns++
			s.ProviderRSSKB = max(s.ProviderRSSKB, tf.RSSKB)
		}
	}
	return s, nil
}

// stats is the median of repeated samples, with the spread of wall times.
type stats struct {
	N                      int
	Wall, WallMin, WallMax time.Duration
	RSSKB, ProviderRSSKB   int64
	CPU                    time.Duration
	ProviderRuns           int
}

func median[T int64 | time.Duration](xs []T) T {
	s := append([]T(nil), xs...)
	slices.Sort(s)
	if len(s) == 0 {
		return 0
	}
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func summarize(samples []sample) stats {
	var walls, cpus []time.Duration
	var rss, prss []int64
	st := stats{N: len(samples)}
	for _, s := range samples {
		walls = append(walls, s.Wall)
		cpus = append(cpus, s.CPU)
		rss = append(rss, s.RSSKB)
		prss = append(prss, s.ProviderRSSKB)
		st.ProviderRuns = max(st.ProviderRuns, s.ProviderRuns)
	}
	st.Wall, st.CPU, st.RSSKB, st.ProviderRSSKB = median(walls), median(cpus), median(rss), median(prss)
	if len(walls) > 0 {
		st.WallMin, st.WallMax = walls[0], walls[0]
		for _, w := range walls {
			st.WallMin, st.WallMax = min(st.WallMin, w), max(st.WallMax, w)
		}
	}
	return st
}
