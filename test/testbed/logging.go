package testbed

import (
	"io"

	"github.com/onsi/ginkgo/v2"
	"go.uber.org/zap/zapcore"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
)

// Log sends everything the operator logs, down to debug level, to Ginkgo's
// writer (shown for failed specs) and to also.
func Log(also ...io.Writer) {
	w := io.MultiWriter(append([]io.Writer{ginkgo.GinkgoWriter}, also...)...)
	logf.SetLogger(zap.New(zap.WriteTo(w), zap.UseDevMode(true), zap.Level(zapcore.DebugLevel)))
}
