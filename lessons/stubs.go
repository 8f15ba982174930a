package lessons

import "context"

func stepFixedIV(ctx context.Context, e *Env) error         { return nil }
func stepOriginal(ctx context.Context, e *Env) error        { return nil }
func stepFreshNonce(ctx context.Context, e *Env) error      { return nil }
func stepCBCFlip(ctx context.Context, e *Env) error         { return nil }
func stepGCMFlip(ctx context.Context, e *Env) error         { return nil }
func stepMITM(ctx context.Context, e *Env) error            { return nil }
func stepPinning(ctx context.Context, e *Env) error         { return nil }
func stepTOFU(ctx context.Context, e *Env) error            { return nil }
func stepReplayCBC(ctx context.Context, e *Env) error       { return nil }
func stepReplayGCM(ctx context.Context, e *Env) error       { return nil }
func stepMeasure(ctx context.Context, e *Env) error         { return nil }
func stepRecordAndSteal(ctx context.Context, e *Env) error  { return nil }
