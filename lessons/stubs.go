package lessons

import "context"

func stepFixedIV(ctx context.Context, e *Env) error        { return nil }
func stepOriginal(ctx context.Context, e *Env) error       { return nil }
func stepFreshNonce(ctx context.Context, e *Env) error     { return nil }
func stepMeasure(ctx context.Context, e *Env) error        { return nil }
func stepRecordAndSteal(ctx context.Context, e *Env) error { return nil }
