import 'reflect-metadata';
import { startApp } from '@app/config';
import { createIngestApp } from './ingest.app';

startApp('ingest', createIngestApp, 3000);
