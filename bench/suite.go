package bench

import (
	"context"
	"fmt"
)

// SuiteConfig is one clickbench invocation: a load run, optionally the same
// load against a baseline, optionally the loss check.
type SuiteConfig struct {
	// Load is the run against the primary target. Required.
	Load Config
	// Baseline is the base URL of a second target that gets the same load
	// after the first. Default: "" (none).
	Baseline string
	// BaselineName labels the baseline. Default: its host.
	BaselineName string
	// Verify, when set, checks after the primary run that every answer it
	// received became a click event on the topic. Default: nil (no check).
	Verify *VerifyConfig
	// Log receives one line before each phase. Default: nil.
	Log func(format string, args ...any)
}

// RunSuite runs the suite: the primary target, the loss check, then the
// baseline, and compares the two.
func RunSuite(ctx context.Context, cfg SuiteConfig) (*Report, error) {
	logf := cfg.Log
	if logf == nil {
		logf = func(string, ...any) {}
	}
	var ver *Verifier
	if cfg.Verify != nil {
		var err error
		if ver, err = NewVerifier(ctx, *cfg.Verify); err != nil {
			return nil, err
		}
	}
	rep := &Report{RunID: cfg.Load.Traffic.RunID()}
	logf("run %s: %s", rep.RunID, cfg.Load.Target)
	res, err := Run(ctx, cfg.Load)
	if err != nil {
		return nil, err
	}
	rep.Results = append(rep.Results, res)
	if ver != nil {
		logf("verifying click events of run %s (%d served)", rep.RunID, res.Served)
		if rep.Verify, err = ver.Verify(ctx, rep.RunID, res.Served); err != nil {
			return rep, fmt.Errorf("cannot verify click events: %w", err)
		}
	}
	if cfg.Baseline != "" && ctx.Err() == nil {
		bcfg := cfg.Load
		bcfg.Target, bcfg.Name = cfg.Baseline, cfg.BaselineName
		logf("baseline: %s", cfg.Baseline)
		bres, err := Run(ctx, bcfg)
		if err != nil {
			return rep, fmt.Errorf("cannot run the baseline: %w", err)
		}
		rep.Results = append(rep.Results, bres)
		c := Compare(res, bres)
		rep.Comparison = &c
	}
	return rep, nil
}
