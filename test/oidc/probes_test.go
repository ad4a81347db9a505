package oidc

import (
	"fmt"
	"net/http"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
)

// expectProbesAnswer sends each container's rendered readiness and
// liveness probe as the kubelet would, to the port the probe names, and
// expects a success: a pod whose probes fail never serves.
func expectProbesAnswer(p *proxyPod) {
	GinkgoHelper()
	c := &http.Client{Timeout: 2 * time.Second}
	var failed []string
	for _, ctr := range p.Deployment.Spec.Template.Spec.Containers {
		for kind, probe := range map[string]*corev1.Probe{"readiness": ctr.ReadinessProbe, "liveness": ctr.LivenessProbe} {
			Expect(probe).NotTo(BeNil(), "%s has no %s probe", ctr.Name, kind)
			get := probe.HTTPGet
			Expect(get).NotTo(BeNil(), "the %s probe of %s is not an HTTP GET", kind, ctr.Name)
			port := containerPort(ctr, get.Port.String())
			url := fmt.Sprintf("%s://%s%s", strings.ToLower(string(get.Scheme)), p.Ports[port], get.Path)
			what := fmt.Sprintf("%s probe of %s (%s port %d%s)", kind, ctr.Name, get.Scheme, port, get.Path)
			resp, err := c.Get(url)
			if err != nil {
				failed = append(failed, fmt.Sprintf("%s: %v", what, err))
				continue
			}
			_ = resp.Body.Close()
			// The kubelet takes 200-399 as a success.
			if resp.StatusCode < 200 || resp.StatusCode >= 400 {
				failed = append(failed, fmt.Sprintf("%s: %s", what, resp.Status))
			}
		}
	}
	Expect(failed).To(BeEmpty())
}

// containerPort is the number of a container's port given by name or
// number.
func containerPort(c corev1.Container, port string) int {
	GinkgoHelper()
	for _, p := range c.Ports {
		if p.Name == port || fmt.Sprint(p.ContainerPort) == port {
			return int(p.ContainerPort)
		}
	}
	Fail(fmt.Sprintf("container %s has no port %s", c.Name, port))
	return 0
}
