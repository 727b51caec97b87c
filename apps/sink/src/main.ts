import 'reflect-metadata';
import { startApp } from '@app/config';
import { createSinkApp } from './sink.app';

startApp('sink', createSinkApp, 3001);
