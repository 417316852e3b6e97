#define _GNU_SOURCE
#include <sched.h>
#include <stdlib.h>
#include <pthread.h>
#include <stdio.h>
#include <time.h>
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER, cv2 = PTHREAD_COND_INITIALIZER;
static int posted, done;
static double now(){struct timespec a;clock_gettime(CLOCK_MONOTONIC,&a);return a.tv_sec*1e6+a.tv_nsec/1e3;}
static void work(double us){double e=now()+us;while(now()<e);}
static void *h(void*x){cpu_set_t s;CPU_ZERO(&s);CPU_SET(1,&s);if(getenv("PIN"))pthread_setaffinity_np(pthread_self(),sizeof s,&s);pthread_mutex_lock(&mu);for(;;){while(!posted)pthread_cond_wait(&cv,&mu);posted=0;pthread_mutex_unlock(&mu);work(14);pthread_mutex_lock(&mu);done=1;pthread_cond_signal(&cv2);}}
int main(int argc,char**argv){pthread_t t;pthread_create(&t,0,h,0);int n=5000;double t0=now();
for(int i=0;i<n;i++){if(argc>1)work(5);pthread_mutex_lock(&mu);posted=1;done=0;pthread_cond_signal(&cv);pthread_mutex_unlock(&mu);work(14);pthread_mutex_lock(&mu);while(!done)pthread_cond_wait(&cv2,&mu);pthread_mutex_unlock(&mu);}
printf("per round %.1f us (ideal 14%s)\n",(now()-t0)/n, argc>1?"+5":"");}
