import mysql from 'mysql2/promise';
import pg from 'pg';
import { Redis, type RedisOptions } from 'ioredis';
import { MYSQL_URL, PG_URL, REDIS_URL } from './services';

// clients of the shared services (services.ts), for tests that set up or read what a pipeline sees

/** A connected client of the shared Postgres (the caller ends it). */
export async function connectPg(url = PG_URL): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  return client;
}

/** A connection to the shared MariaDB (the caller ends it). */
export const connectMysql = (url = MYSQL_URL): Promise<mysql.Connection> => mysql.createConnection({ uri: url });

/** A client of the shared Redis (the caller disconnects it). */
export const connectRedis = (url = REDIS_URL, options: RedisOptions = {}): Redis => new Redis(url, options);
