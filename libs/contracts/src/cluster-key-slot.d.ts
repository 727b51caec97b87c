/** cluster-key-slot ships no types: Redis Cluster's CRC16 slot of a key (hash tags honoured), 0 to 16383. */
declare module 'cluster-key-slot' {
  function calculateSlot(key: string | Buffer): number;
  export = calculateSlot;
}
