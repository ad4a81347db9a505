package testbed

import (
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"syscall"
	"time"

	"github.com/onsi/ginkgo/v2"
	"github.com/onsi/gomega"
)

// programStopTimeout is how long a program gets to end after SIGTERM
// before it is killed.
const programStopTimeout = 10 * time.Second

// Program is a process a spec started, ended when the calling Ginkgo node
// is done.
type Program struct {
	Name string
	// Output is everything it printed, also copied to Ginkgo's writer
	// (shown for a failed spec).
	Output *SyncBuffer

	cmd     *exec.Cmd
	exited  chan struct{}
	waitErr error
}

// StartProgram runs bin with args.
func StartProgram(name, bin string, args ...string) *Program {
	ginkgo.GinkgoHelper()
	p := &Program{Name: name, Output: &SyncBuffer{}, exited: make(chan struct{})}
	p.cmd = exec.Command(bin, args...)
	w := io.MultiWriter(p.Output, ginkgo.GinkgoWriter)
	p.cmd.Stdout, p.cmd.Stderr = w, w
	gomega.Expect(p.cmd.Start()).To(gomega.Succeed(), "starting %s", name)
	go func() {
		p.waitErr = p.cmd.Wait()
		close(p.exited)
	}()
	ginkgo.DeferCleanup(p.stop)
	return p
}

// Exited tells whether the process has ended, and how.
func (p *Program) Exited() (bool, error) {
	select {
	case <-p.exited:
		return true, p.waitErr
	default:
		return false, nil
	}
}

// WaitHTTP waits until url answers 200 to c (nil: a plain client),
// failing at once, with the program's output, when the process ends first
// (a flag it refuses ends it).
func (p *Program) WaitHTTP(c *http.Client, url string) {
	ginkgo.GinkgoHelper()
	client := http.Client{}
	if c != nil {
		client = *c
	}
	client.Timeout = time.Second
	gomega.Eventually(func(g gomega.Gomega) {
		done, err := p.Exited()
		if done {
			gomega.StopTrying(fmt.Sprintf("%s exited (%v):\n%s", p.Name, err, p.Output.String())).Now()
		}
		resp, err := client.Get(url)
		g.Expect(err).NotTo(gomega.HaveOccurred())
		_ = resp.Body.Close()
		g.Expect(resp.StatusCode).To(gomega.Equal(http.StatusOK), "%s: %s", url, resp.Status)
	}).WithTimeout(30*time.Second).WithPolling(50*time.Millisecond).Should(gomega.Succeed(), "%s is not serving:\n%s", p.Name, p.Output)
}

func (p *Program) stop() {
	if done, _ := p.Exited(); done {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-time.After(programStopTimeout):
		_ = p.cmd.Process.Kill()
		<-p.exited
	}
}
