/** The shared command connection of a process. */
export const REDIS_CLIENT = Symbol('REDIS_CLIENT');
/** Opens a new connection for a blocking reader (each consumer needs its own). */
export const REDIS_CONNECTION_FACTORY = Symbol('REDIS_CONNECTION_FACTORY');
