package testbed

import (
	"fmt"
	"os"
	"strconv"
	"strings"
)

// ChildProcess finds the process named name among the children of this
// one (envtest starts kube-apiserver and etcd as children).
func ChildProcess(name string) (int, error) {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return 0, err
	}
	self := os.Getpid()
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			continue
		}
		// The command name is in parentheses and may hold spaces; the
		// parent's pid is the second field after it.
		s := string(stat)
		open, end := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
		if open < 0 || end < open || s[open+1:end] != name {
			continue
		}
		if ppid, _ := strconv.Atoi(strings.Fields(s[end+2:])[1]); ppid == self {
			return pid, nil
		}
	}
	return 0, fmt.Errorf("no child process named %s", name)
}
