package testbed

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// ProjectVolumes writes, for one container of a rendered pod, the files
// its Secret and ConfigMap volumes would hold, as the kubelet projects them
// from the objects the API server has in namespace ns: every key, or only
// the listed items under their paths. Each mount path gets a directory of
// its own under dir; the result maps the mount path to that directory.
//
// A test process cannot have the pod's absolute mount paths, so the
// directories stand in for them (PodRewrite); what is in them is what the
// pod would read.
func ProjectVolumes(ctx context.Context, c client.Reader, ns string, pod *corev1.PodSpec, container *corev1.Container, dir string) (map[string]string, error) {
	volumes := map[string]corev1.Volume{}
	for _, v := range pod.Volumes {
		volumes[v.Name] = v
	}
	mounts := map[string]string{}
	for i, m := range container.VolumeMounts {
		if m.SubPath != "" || m.SubPathExpr != "" {
			return nil, fmt.Errorf("mount %s: sub-paths are not projected", m.Name)
		}
		v, ok := volumes[m.Name]
		if !ok {
			return nil, fmt.Errorf("mount %s: the pod has no such volume", m.Name)
		}
		files, err := volumeFiles(ctx, c, ns, v)
		if err != nil {
			return nil, fmt.Errorf("volume %s: %w", v.Name, err)
		}
		// The index keeps two mounts of one volume apart.
		d := filepath.Join(dir, fmt.Sprintf("%d-%s", i, m.Name))
		if err := writeFiles(d, files); err != nil {
			return nil, err
		}
		mounts[m.MountPath] = d
	}
	return mounts, nil
}

// volumeFiles are the files of a Secret or ConfigMap volume, by path.
func volumeFiles(ctx context.Context, c client.Reader, ns string, v corev1.Volume) (map[string][]byte, error) {
	var data map[string][]byte
	var items []corev1.KeyToPath
	switch {
	case v.Secret != nil:
		s := &corev1.Secret{}
		if err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: v.Secret.SecretName}, s); err != nil {
			return nil, err
		}
		data, items = s.Data, v.Secret.Items
	case v.ConfigMap != nil:
		cm := &corev1.ConfigMap{}
		if err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: v.ConfigMap.Name}, cm); err != nil {
			return nil, err
		}
		data = map[string][]byte{}
		for k, s := range cm.Data {
			data[k] = []byte(s)
		}
		for k, b := range cm.BinaryData {
			data[k] = b
		}
		items = v.ConfigMap.Items
	default:
		return nil, fmt.Errorf("only Secret and ConfigMap volumes are projected")
	}
	files := map[string][]byte{}
	if len(items) == 0 {
		for k, b := range data {
			files[k] = b
		}
		return files, nil
	}
	for _, it := range items {
		b, ok := data[it.Key]
		if !ok {
			// The kubelet would not start the pod: a missing key of a
			// volume that is not optional.
			return nil, fmt.Errorf("no key %q", it.Key)
		}
		files[it.Path] = b
	}
	return files, nil
}

func writeFiles(dir string, files map[string][]byte) error {
	paths := make([]string, 0, len(files))
	for p := range files {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	for _, p := range paths {
		file := filepath.Join(dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(file), 0o700); err != nil {
			return err
		}
		if err := os.WriteFile(file, files[p], 0o600); err != nil {
			return err
		}
	}
	return os.MkdirAll(dir, 0o700)
}
