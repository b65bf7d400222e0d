/** Kubernetes endpoint lag: requests failed while the Service still routed here, by phase. */
import type { Ctx } from './analysis';
import type { PlatformAnalysis } from './types';

export function endpointLagFindings(_c: Ctx, _out: PlatformAnalysis): void {}
