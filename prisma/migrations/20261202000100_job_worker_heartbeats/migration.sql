-- Liveness of job workers (jobs/heartbeats.ts): the jobs of a worker whose beats
-- stopped (its process died) are unlocked within a minute for others to run.
CREATE TABLE "job_worker_heartbeats" (
    "worker_id" TEXT NOT NULL,
    "beat_at" TIMESTAMPTZ(3) NOT NULL DEFAULT now(),
    CONSTRAINT "job_worker_heartbeats_pkey" PRIMARY KEY ("worker_id")
);
