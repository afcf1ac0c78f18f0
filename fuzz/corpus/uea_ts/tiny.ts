@problemName Tiny
@timeStamps false
@univariate true
@equalLength true
@seriesLength 3
@classLabel true a b
@data
1,2,3:a
3,2,1:b
