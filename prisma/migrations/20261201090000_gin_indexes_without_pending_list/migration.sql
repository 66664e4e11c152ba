-- The GIN indexes (trigram search on titles and customers, tag filters) insert new
-- entries directly instead of into GIN's pending list. Every search scans that list in
-- full until VACUUM merges it (it grows to gin_pending_list_limit, 4 MB): at 100,000
-- tickets a search spent 3.7 of its 5.5 ms there, and the insert that overflows the list
-- pays for merging all of it. Direct inserts cost about 60 µs more per ticket written.
ALTER INDEX "tickets_title_trgm_idx" SET (fastupdate = off);
ALTER INDEX "tickets_tags_idx" SET (fastupdate = off);
ALTER INDEX "customers_name_trgm_idx" SET (fastupdate = off);
ALTER INDEX "customers_email_trgm_idx" SET (fastupdate = off);

-- What is waiting in the lists now goes into the indexes.
SELECT gin_clean_pending_list('tickets_title_trgm_idx'::regclass);
SELECT gin_clean_pending_list('tickets_tags_idx'::regclass);
SELECT gin_clean_pending_list('customers_name_trgm_idx'::regclass);
SELECT gin_clean_pending_list('customers_email_trgm_idx'::regclass);
