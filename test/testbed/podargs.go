package testbed

import (
	"fmt"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"

	"sigs.k8s.io/yaml"
)

// PodRewrite turns the command line of a rendered container into one a
// test process can run, changing only what a process outside the pod
// cannot have: the volumes' mount paths, the ports of the pod's network
// namespace, and the addresses of Services. Every other argument, and every
// other part of a changed one, is passed through as rendered.
type PodRewrite struct {
	// Dirs maps each mount path to the directory standing in for it
	// (ProjectVolumes).
	Dirs map[string]string
	// Ports maps each port of the pod (a listener, or the loopback hop
	// between its containers, which share the namespace) to the loopback
	// address standing in for it. It applies to addresses whose host is
	// the pod's own: unspecified, loopback or localhost.
	Ports map[int]string
	// Services maps the host:port of something outside the pod, such as
	// Kiali's Service, to the address of what stands in for it.
	Services map[string]string

	// restored maps each rewritten argument back to the rendered one.
	restored map[string]string
}

// LoopbackPorts gives each of a pod's ports a free port on 127.0.0.1, for
// PodRewrite.Ports: several pods of a suite, and anything else on the
// machine, would clash on the rendered ones, and a test opens nothing on
// other interfaces. The containers of one pod share the map, as they share
// the pod's network namespace.
func LoopbackPorts(ports ...int) (map[int]string, error) {
	m := map[int]string{}
	for _, p := range ports {
		free, err := freePort()
		if err != nil {
			return nil, err
		}
		m[p] = "127.0.0.1:" + strconv.Itoa(free)
	}
	return m, nil
}

// Args rewrites a command line; Restore maps its result back.
func (r *PodRewrite) Args(args []string) []string {
	if r.restored == nil {
		r.restored = map[string]string{}
	}
	out := make([]string, len(args))
	for i, a := range args {
		switch flag, value, hasValue := splitFlag(a); {
		case hasValue:
			out[i] = flag + "=" + r.value(value)
		case flag != "":
			out[i] = a
		default:
			out[i] = r.value(value)
		}
		r.restored[out[i]] = a
	}
	return out
}

// Restore maps arguments Args returned back to the rendered ones; an
// argument Args never returned comes back as it is. Each substitution is
// one-to-one (a directory per mount, a port per port), so a command line
// that restores to the rendered one lost, added and reordered nothing.
func (r *PodRewrite) Restore(args []string) []string {
	out := make([]string, len(args))
	for i, a := range args {
		if orig, ok := r.restored[a]; ok {
			out[i] = orig
		} else {
			out[i] = a
		}
	}
	return out
}

func (r *PodRewrite) value(v string) string {
	for mount, dir := range r.Dirs {
		if v == mount || strings.HasPrefix(v, mount+"/") {
			return dir + v[len(mount):]
		}
	}
	if a, ok := r.authority(v); ok {
		return a
	}
	// A URL whose authority is one of the pod's ports or a Service: only
	// the authority changes, the scheme and path stay.
	if u, err := url.Parse(v); err == nil && u.Scheme != "" && u.Host != "" {
		if a, ok := r.authority(u.Host); ok {
			return strings.Replace(v, "//"+u.Host, "//"+a, 1)
		}
	}
	return v
}

func (r *PodRewrite) authority(v string) (string, bool) {
	if s, ok := r.Services[v]; ok {
		return s, true
	}
	host, port, err := net.SplitHostPort(v)
	if err != nil {
		return "", false
	}
	p, err := strconv.Atoi(port)
	if err != nil {
		return "", false
	}
	a, ok := r.Ports[p]
	if !ok || !podLocal(host) {
		return "", false
	}
	return a, true
}

// podLocal tells whether a host is the pod's own network namespace.
func podLocal(host string) bool {
	if host == "" || host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && (ip.IsUnspecified() || ip.IsLoopback())
}

// splitFlag splits "--name=value" (or "-name=value"). A flag without a
// value (a boolean's "--name") is a flag with an empty value, so ok is
// false for it, and anything not starting with "-" is a value of its own.
func splitFlag(a string) (flag, value string, ok bool) {
	if !strings.HasPrefix(a, "-") {
		return "", a, false
	}
	return strings.Cut(a, "=")
}

// FlagValue is the value of the last --name=value of args (the one a Go
// flag set keeps).
func FlagValue(args []string, name string) (string, error) {
	value, found := "", false
	for _, a := range args {
		if f, v, ok := splitFlag(a); ok && strings.TrimLeft(f, "-") == name {
			value, found = v, true
		}
	}
	if !found {
		return "", fmt.Errorf("no --%s in %q", name, args)
	}
	return value, nil
}

// YAMLFile rewrites, in place, every string value of a projected YAML file
// (oauth2-proxy's alpha configuration) as Args rewrites a command line:
// mount paths to their directories, the pod's ports to loopback ones. Keys
// and every other value stay as rendered.
func (r *PodRewrite) YAMLFile(path string) error {
	raw, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	var doc any
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	out, err := yaml.Marshal(r.walk(doc))
	if err != nil {
		return err
	}
	return os.WriteFile(path, out, 0o600)
}

func (r *PodRewrite) walk(v any) any {
	switch t := v.(type) {
	case string:
		return r.value(t)
	case map[string]any:
		for k, e := range t {
			t[k] = r.walk(e)
		}
	case []any:
		for i, e := range t {
			t[i] = r.walk(e)
		}
	}
	return v
}
