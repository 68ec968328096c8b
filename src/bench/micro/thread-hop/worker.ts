/** The entry of the thread hop's two workers: A produces, B consumes (producer.ts, consumer.ts). */
import { parentPort, workerData } from 'node:worker_threads';
import { Consumer } from './consumer.ts';
import { Producer } from './producer.ts';
import type { WorkerInit } from './wire.ts';

const init = workerData as WorkerInit;
(init.role === 'A' ? new Producer(init, parentPort!) : new Consumer(init, parentPort!)).listen();
