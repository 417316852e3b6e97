#include <pthread.h>
#include <stdio.h>
#include <time.h>
#include <stdatomic.h>
static atomic_int posted, done;
static double now(){struct timespec a;clock_gettime(CLOCK_MONOTONIC,&a);return a.tv_sec*1e6+a.tv_nsec/1e3;}
static void work(double us){double e=now()+us;while(now()<e);}
static void *h(void*x){for(;;){while(!atomic_load(&posted)) __builtin_ia32_pause();atomic_store(&posted,0);work(14);atomic_store(&done,1);}}
int main(int argc,char**argv){pthread_t t;pthread_create(&t,0,h,0);int n=5000;double t0=now();
for(int i=0;i<n;i++){atomic_store(&done,0);atomic_store(&posted,1);work(14);while(!atomic_load(&done))__builtin_ia32_pause();}
printf("spin: per round %.1f us (ideal 14)\n",(now()-t0)/n);}
