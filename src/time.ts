// Chain times (unix seconds, bigint) as the API and job records show them.

/** Unix seconds as an ISO 8601 time. */
export const isoOfSeconds = (seconds: bigint): string => new Date(Number(seconds) * 1000).toISOString();
