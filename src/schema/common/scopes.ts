// The authScopes combinations the schema uses, named once.
/** Admins: people with the admin role, or API keys with the ADMIN scope. */
export const adminOnly = { $all: { staff: true, scope: 'ADMIN' } } as const;
/** Staff who may write (agents, admins, keys with WRITE). */
export const staffWrite = { $all: { staff: true, scope: 'WRITE' } } as const;
/** Staff who may delete (admins, keys with DELETE). */
export const staffDelete = { $all: { staff: true, scope: 'DELETE' } } as const;
/** Staff who may read (customers excluded). */
export const staffRead = { $all: { staff: true, scope: 'READ' } } as const;
