package eventhandler

import (
	"log/slog"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/iam-watchdog/iam-watchdog/pkg/detect"
	"github.com/iam-watchdog/iam-watchdog/pkg/lambdaenv"
	"github.com/iam-watchdog/iam-watchdog/pkg/watchdog"
)

// New builds the handler once per cold start. awsCfg must carry the watchdog's app ID so that
// its own calls are recognisable in CloudTrail.
func New(env lambdaenv.Env, awsCfg aws.Config, log *slog.Logger) (*Handler, error) {
	cfg, err := env.Config()
	if err != nil {
		return nil, err
	}
	rem, err := env.Remediator(awsCfg, cfg)
	if err != nil {
		return nil, err
	}
	codec, err := env.Codec(awsCfg)
	if err != nil {
		return nil, err
	}
	p := &watchdog.Pipeline{
		Codec:      codec,
		Detector:   detect.DefaultWith(cfg.Detection()),
		Config:     cfg,
		Remediator: rem,
		Owner:      "lambda",
		Lease:      2 * time.Minute,
	}
	if st := env.Store(awsCfg); st != nil {
		p.Store = st
	} else {
		log.Warn("STATE_TABLE is not set: redelivered events will be handled again")
	}
	return &Handler{Pipeline: p, Log: log, Sink: env.AlertSink(awsCfg, log)}, nil
}
